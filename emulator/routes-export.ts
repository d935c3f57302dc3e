/** `GET /api/2.0/export`: validation, then JSONL streamed with backpressure (gzip when asked and > 1400 bytes). */
import { once } from 'node:events';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import type { Call } from './call.js';
import type { ProjectStore } from './store.js';
import type { FaultAction } from './types.js';
import { exportChunks } from './export-lines.js';
import type { ExportPlan } from './export-lines.js';
import { dateIn, dayEndMs, dayStartMs, isValidDate } from './time.js';
import { parseWhere, WhereSyntaxError } from './where.js';

export const EXPORT_MAX_LIMIT = 100_000;
const GZIP_THRESHOLD = 1400;
const CHUNK_BYTES = 128 * 1024;
/** Generated events scanned before the server gives the event loop a turn (sparse `where`/`event` filters). */
const SCAN_BUDGET = 50_000;

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
  const options = { chunkBytes: CHUNK_BYTES, scanBudget: SCAN_BUDGET };
  const source = exportChunks(store, plan, terminatedAfter === undefined ? options : { ...options, terminatedAfter });
  // Read ahead until the body is known to exceed 1400 bytes (or has ended): only then is gzip allowed.
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes <= GZIP_THRESHOLD) {
    const next = source.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    if (next.value.length === 0) {
      await setImmediatePromise(); // a sparse scan: let other requests run
      if (c.res.destroyed) return;
      continue;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const acceptsGzip = /\bgzip\b/i.test(String(c.req.headers['accept-encoding'] ?? ''));
  const small = ended && headBytes <= GZIP_THRESHOLD;
  const gzip = acceptsGzip && !small;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
  if (gzip) headers['Content-Encoding'] = 'gzip';
  if (small && !gzip) {
    headers['Content-Length'] = String(headBytes);
  }
  c.entry.status = 200;
  c.res.writeHead(200, headers);

  async function* all(): AsyncGenerator<Buffer, void, undefined> {
    yield* head;
    for (const chunk of source) {
      if (chunk.length === 0) await setImmediatePromise();
      else yield chunk;
    }
  }
  const text = Readable.from(all(), { objectMode: false });
  const wire: Readable = gzip ? text.pipe(createGzip({ level: zlibConstants.Z_BEST_SPEED })) : text;
  const cutAt = fault?.kind === 'reset' || fault?.kind === 'gzip-cut' ? fault.afterBytes : undefined;
  let sent = 0;
  try {
    for await (const chunk of wire) {
      if (c.res.destroyed) break;
      const buf = chunk as Buffer;
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
