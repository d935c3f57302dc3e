/**
 * The lease file's content: who holds the lock (a random owner id, host, boot id, pid, process start time) and
 * until when (heartbeat and expiry). One JSON object per file, written whole (temp + fsync + link/rename), so a
 * reader sees either the previous or the next record, never a mix.
 *
 * Earlier versions wrote `{ pid, startedAt, hostname }` (runner) or `{ pid, startedAt }` (proxy spool); those
 * still parse, as `legacy` holders, so an upgrade never needs a person either.
 */
import type { ProcessIdentity } from './process-identity.js';

export const LEASE_FORMAT = 1;

export interface LeaseRecord {
  readonly format: typeof LEASE_FORMAT;
  /** A random id for this holding (the run id when the caller passes one). */
  readonly owner: string;
  readonly hostname: string;
  readonly bootId?: string | undefined;
  readonly pid: number;
  /** Tagged process start time (`proc:<ticks>`, `ps:<lstart>`), see process-identity.ts. */
  readonly startTime?: string | undefined;
  readonly pidNamespace?: string | undefined;
  /** ISO times. */
  readonly acquiredAt: string;
  readonly heartbeatAt: string;
  /** heartbeatAt + leaseMs: after this, a holder on another host counts as gone. */
  readonly expiresAt: string;
  readonly leaseMs: number;
}

/** What a reader knows about the holder of a lock file. */
export type Holder =
  | { readonly kind: 'lease'; readonly record: LeaseRecord }
  /** Written by an earlier version: no owner id, no start time, no expiry; hostname missing for the spool. */
  | { readonly kind: 'legacy'; readonly pid: number; readonly startedAt?: string | undefined; readonly hostname?: string | undefined }
  | { readonly kind: 'unreadable' };

// A hand-written reader rather than zod: connector-spec is loaded by every process and parse worker, and
// zod would add about 0.3 s to each start for a dozen fields.
type Fields = Readonly<Record<string, unknown>>;

function str(r: Fields, key: string): string | undefined {
  const v = r[key];
  return typeof v === 'string' ? v : undefined;
}

function positiveInt(r: Fields, key: string): number | undefined {
  const v = r[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

function isoTime(r: Fields, key: string): string | undefined {
  const v = str(r, key);
  return v !== undefined && Number.isFinite(Date.parse(v)) ? v : undefined;
}

function optionalStr(r: Fields, key: string): { ok: boolean; value: string | undefined } {
  const v = r[key];
  return { ok: v === undefined || typeof v === 'string', value: typeof v === 'string' ? v : undefined };
}

function parseLease(r: Fields): LeaseRecord | undefined {
  const owner = str(r, 'owner');
  const hostname = str(r, 'hostname');
  const pid = positiveInt(r, 'pid');
  const leaseMs = positiveInt(r, 'leaseMs');
  const acquiredAt = isoTime(r, 'acquiredAt');
  const heartbeatAt = isoTime(r, 'heartbeatAt');
  const expiresAt = isoTime(r, 'expiresAt');
  const bootId = optionalStr(r, 'bootId');
  const startTime = optionalStr(r, 'startTime');
  const pidNamespace = optionalStr(r, 'pidNamespace');
  if (r['format'] !== LEASE_FORMAT || !owner || hostname === undefined || pid === undefined || leaseMs === undefined) return undefined;
  if (acquiredAt === undefined || heartbeatAt === undefined || expiresAt === undefined || !bootId.ok || !startTime.ok || !pidNamespace.ok) return undefined;
  return { format: LEASE_FORMAT, owner, hostname, bootId: bootId.value, pid, startTime: startTime.value, pidNamespace: pidNamespace.value, acquiredAt, heartbeatAt, expiresAt, leaseMs };
}

export function parseHolder(text: string): Holder {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { kind: 'unreadable' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { kind: 'unreadable' };
  const r = raw as Fields;
  if ('format' in r) {
    const record = parseLease(r);
    return record === undefined ? { kind: 'unreadable' } : { kind: 'lease', record }; // a newer or broken lease
  }
  const pid = positiveInt(r, 'pid');
  const startedAt = optionalStr(r, 'startedAt');
  const hostname = optionalStr(r, 'hostname');
  if (pid === undefined || !startedAt.ok || !hostname.ok) return { kind: 'unreadable' };
  return { kind: 'legacy', pid, startedAt: startedAt.value, hostname: hostname.value };
}

export function newLeaseRecord(options: { readonly owner: string; readonly self: ProcessIdentity; readonly nowMs: number; readonly leaseMs: number }): LeaseRecord {
  const { owner, self, nowMs, leaseMs } = options;
  const at = new Date(nowMs).toISOString();
  return {
    format: LEASE_FORMAT,
    owner,
    hostname: self.hostname,
    ...(self.bootId !== undefined ? { bootId: self.bootId } : {}),
    pid: self.pid,
    ...(self.startTime !== undefined ? { startTime: self.startTime } : {}),
    ...(self.pidNamespace !== undefined ? { pidNamespace: self.pidNamespace } : {}),
    acquiredAt: at,
    heartbeatAt: at,
    expiresAt: new Date(nowMs + leaseMs).toISOString(),
    leaseMs,
  };
}

export function renewedRecord(record: LeaseRecord, nowMs: number): LeaseRecord {
  return { ...record, heartbeatAt: new Date(nowMs).toISOString(), expiresAt: new Date(nowMs + record.leaseMs).toISOString() };
}

export function formatLeaseRecord(record: LeaseRecord): string {
  return `${JSON.stringify(record)}\n`;
}
