/** `GET /api/2.0/export`: validation, then JSONL streamed with backpressure (gzip when asked and > 1400 bytes). */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import type { Call } from './call.js';
import { queryError } from './call.js';
import type { ProjectStore } from './store.js';
import type { FaultAction } from './types.js';
import { exportLines } from './export-lines.js';
import type { ExportPlan } from './export-lines.js';
import { dateIn, dayEndMs, dayStartMs, isValidDate } from './time.js';
import { parseWhere, WhereSyntaxError } from './where.js';

export const EXPORT_MAX_LIMIT = 100_000;
const GZIP_THRESHOLD = 1400;
const CHUNK_BYTES = 128 * 1024;

export type PlanResult = { readonly ok: true; readonly plan: ExportPlan } | { readonly ok: false; readonly message: string };

/** Validate export parameters and turn them into a plan (dates read in UTC or the legacy project's zone). */
export function planExport(store: ProjectStore, params: Readonly<Record<string, string>>, nowMs: number): PlanResult {
  const project = store.project;
  const zone = project.legacyLocalTime ? project.timezone : 'UTC';
  const from = params['from_date'];
  const to = params['to_date'];
  if (from === undefined || from === '') return { ok: false, message: "'from_date' is a required parameter" };
  if (to === undefined || to === '') return { ok: false, message: "'to_date' is a required parameter" };
  if (!isValidDate(from)) return { ok: false, message: `Error in from_date: invalid date ${JSON.stringify(from)}, expected yyyy-mm-dd` };
  if (!isValidDate(to)) return { ok: false, message: `Error in to_date: invalid date ${JSON.stringify(to)}, expected yyyy-mm-dd` };
  if (Number(from.slice(0, 4)) < 2000) return { ok: false, message: 'Error in from_date: invalid date, bad year' };
  const today = dateIn(nowMs, zone);
  if (to > today) return { ok: false, message: `to_date cannot be later than today (${today} in ${zone})` };
  if (from > to) return { ok: false, message: 'from_date cannot be later than to_date' };
  let limit: number | undefined;
  const limitText = params['limit'];
  if (limitText !== undefined && limitText !== '') {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) return { ok: false, message: `limit must be a non-negative integer, got ${JSON.stringify(limitText)}` };
    if (limit > EXPORT_MAX_LIMIT) return { ok: false, message: `limit cannot be over ${EXPORT_MAX_LIMIT}` };
  }
  let events: Set<string> | undefined;
  const eventText = params['event'];
  if (eventText !== undefined && eventText !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(eventText) as unknown;
    } catch {
      return { ok: false, message: `event must be a JSON array of event names, e.g. ["signup","purchase"]; got ${JSON.stringify(eventText)}` };
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
      return { ok: false, message: 'event must be a JSON array of event names, e.g. ["signup","purchase"]' };
    }
    events = new Set(parsed as string[]);
  }
  let where;
  const whereText = params['where'];
  if (whereText !== undefined && whereText.trim() !== '') {
    try {
      where = parseWhere(whereText);
    } catch (e) {
      if (e instanceof WhereSyntaxError) return { ok: false, message: `invalid where expression: ${e.message}` };
      throw e;
    }
  }
  const tim = (params['time_in_ms'] ?? 'false').toLowerCase();
  return {
    ok: true,
    plan: {
      fromMs: dayStartMs(from, zone),
      toMs: dayEndMs(to, zone),
      events,
      where,
      limit,
      timeInMs: tim === 'true' || tim === '1',
      nowMs,
    },
  };
}

/** Lines grouped into ~128 KB strings; `terminatedAfter` stops with a bare `terminated early` line. */
function* chunks(lines: Iterable<string>, terminatedAfter: number | undefined): Generator<string, void, undefined> {
  let parts: string[] = [];
  let size = 0;
  let n = 0;
  for (const line of lines) {
    if (terminatedAfter !== undefined && n >= terminatedAfter) break;
    parts.push(line);
    size += line.length + 1;
    n++;
    if (size >= CHUNK_BYTES) {
      parts.push('');
      yield parts.join('\n');
      parts = [];
      size = 0;
    }
  }
  if (terminatedAfter !== undefined && n >= terminatedAfter) parts.push('terminated early');
  if (parts.length > 0) {
    parts.push('');
    yield parts.join('\n');
  }
}

async function waitDrain(c: Call): Promise<boolean> {
  if (c.res.destroyed) return false;
  const ac = new AbortController();
  try {
    await Promise.race([once(c.res, 'drain', { signal: ac.signal }), once(c.res, 'close', { signal: ac.signal })]);
  } catch {
    // aborted
  } finally {
    ac.abort();
  }
  return !c.res.destroyed;
}

/** Stream the export for an already validated plan. */
export async function serveExport(c: Call, store: ProjectStore, plan: ExportPlan, fault: FaultAction | undefined): Promise<void> {
  const terminatedAfter = fault?.kind === 'terminated-early' ? fault.afterLines : undefined;
  const source = chunks(exportLines(store, plan), terminatedAfter);
  const first = source.next();
  const firstChunk = first.done === true ? '' : first.value;
  const acceptsGzip = /\bgzip\b/i.test(String(c.req.headers['accept-encoding'] ?? ''));
  // A chunk shorter than CHUNK_BYTES is the last one, so a first chunk ≤ 1400 bytes is the whole body.
  const small = Buffer.byteLength(firstChunk) <= GZIP_THRESHOLD;
  const gzip = acceptsGzip && !small;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
  if (gzip) headers['Content-Encoding'] = 'gzip';
  if (small && !gzip) {
    headers['Content-Length'] = String(Buffer.byteLength(firstChunk));
  }
  c.entry.status = 200;
  c.res.writeHead(200, headers);

  function* all(): Generator<string, void, undefined> {
    if (firstChunk.length > 0) yield firstChunk;
    yield* source;
  }
  const text = Readable.from(all(), { objectMode: true });
  const wire: Readable = gzip ? text.pipe(createGzip({ level: zlibConstants.Z_BEST_SPEED })) : text;
  const cutAt = fault?.kind === 'reset' || fault?.kind === 'gzip-cut' ? fault.afterBytes : undefined;
  let sent = 0;
  try {
    for await (const chunk of wire) {
      if (c.res.destroyed) break;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
      if (cutAt !== undefined && sent + buf.length >= cutAt) {
        const part = buf.subarray(0, Math.max(0, cutAt - sent));
        sent += part.length;
        if (fault?.kind === 'reset') {
          await new Promise<void>((resolve) => c.res.write(part, () => resolve()));
          c.res.socket?.resetAndDestroy();
        } else {
          c.res.end(part);
        }
        text.destroy();
        wire.destroy();
        return;
      }
      sent += buf.length;
      if (!c.res.write(buf)) {
        if (!(await waitDrain(c))) break;
      }
    }
  } finally {
    text.destroy();
    if (wire !== text) wire.destroy();
  }
  if (!c.res.destroyed && !c.res.writableEnded) c.res.end();
}

export function exportBadRequest(c: Call, message: string): void {
  queryError(c, 400, message);
}
