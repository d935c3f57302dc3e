/**
 * The spool format shared by the proxy (writer) and the `mixpanel_proxy` source (reader): a folder of
 * append-only NDJSON segment files named `segment-<20-digit sequence>.ndjson`, one line per captured record.
 * Only the newest segment is ever appended to; a process that starts writing opens a new segment, so a torn
 * last line (a crash mid-write) can only sit at the end of a segment that is never written again.
 */

export const SEGMENT_PREFIX = 'segment-';
export const SEGMENT_SUFFIX = '.ndjson';
const SEGMENT_RE = /^segment-(\d{20})\.ndjson$/;

export type SpoolEndpoint = 'track' | 'engage' | 'groups';
export const SPOOL_ENDPOINTS: readonly SpoolEndpoint[] = ['track', 'engage', 'groups'];

/** Sequence number → file name (`segment-00000000000000000001.ndjson`). */
export function segmentName(sequence: number): string {
  return `${SEGMENT_PREFIX}${String(sequence).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

/** File name → sequence number, or undefined for any other file. */
export function segmentSequence(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** Segment file names among `names`, oldest first. */
export function sortedSegments(names: readonly string[]): string[] {
  return names.filter((n) => segmentSequence(n) !== undefined).sort();
}

/** What the proxy knows about one request, repeated on each of its lines. */
export interface SpoolRequestInfo {
  readonly receivedAt: string;
  readonly endpoint: SpoolEndpoint;
  readonly method: string;
  readonly clientIp: string;
  readonly requestId: string;
  /** HTTP status Mixpanel (or `--upstream`) answered; null when it could not be reached. */
  readonly upstreamStatus: number | null;
}

/**
 * Mixpanel's verdict on one record, read from its answer (`proxy/verdict.ts`): accepted true/false, or null when
 * the answer does not say. `error`: Mixpanel's reason, the HTTP status, or why it could not be reached (no
 * secrets: a short code or message).
 */
export interface SpoolVerdict {
  readonly accepted: boolean | null;
  readonly error: string | null;
}

/** A body the proxy could not decode, kept so nothing is dropped silently. */
export interface UndecodableBody {
  readonly reason: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  /** Total body bytes received. */
  readonly bodyBytes: number;
  /** The body (first `MAX_UNDECODABLE_BYTES` of it), base64. */
  readonly bodyBase64: string;
  readonly truncated: boolean;
}

export const MAX_UNDECODABLE_BYTES = 1024 * 1024;

/**
 * The fields every line of a request repeats, then the record's verdict. Version 1 lines written before the
 * verdict existed carry a request-level `upstream_error` and no `upstream_accepted` (read as unknown).
 */
function head(info: SpoolRequestInfo, verdict: SpoolVerdict): string {
  return (
    `{"v":1,"received_at":${JSON.stringify(info.receivedAt)},"endpoint":${JSON.stringify(info.endpoint)},` +
    `"method":${JSON.stringify(info.method)},"client_ip":${JSON.stringify(info.clientIp)},` +
    `"request_id":${JSON.stringify(info.requestId)},"upstream_status":${info.upstreamStatus === null ? 'null' : String(info.upstreamStatus)},` +
    `"upstream_accepted":${verdict.accepted === null ? 'null' : String(verdict.accepted)},` +
    `"upstream_error":${verdict.error === null ? 'null' : JSON.stringify(verdict.error)}`
  );
}

/**
 * One spool line for record `index` of a request. `recordJson` is the record's JSON text exactly as decoded
 * (numbers as sent); it must be compact JSON (no raw newline), which every JSON serializer guarantees.
 */
export function recordLine(info: SpoolRequestInfo, index: number, recordJson: string, verdict: SpoolVerdict): string {
  return `${head(info, verdict)},"index":${index},"record":${recordJson}}\n`;
}

/** The spool line of an undecodable body (`verdict`: Mixpanel's answer to the whole request). */
export function undecodableLine(info: SpoolRequestInfo, body: UndecodableBody, verdict: SpoolVerdict): string {
  const u = `{"reason":${JSON.stringify(body.reason)},"content_type":${JSON.stringify(body.contentType)},"content_encoding":${JSON.stringify(body.contentEncoding)},"body_bytes":${body.bodyBytes},"body_base64":${JSON.stringify(body.bodyBase64)},"truncated":${body.truncated}}`;
  return `${head(info, verdict)},"index":null,"undecodable":${u}}\n`;
}
