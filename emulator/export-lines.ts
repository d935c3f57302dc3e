/**
 * The lines of a raw export: generated events (computed from their index range) then ingested ones,
 * filtered by date range, visibility (`mp_processing_time_ms` ≤ clock), `event`, `where` and `limit`.
 */
import type { ProjectStore, StoredEvent } from './store.js';
import { DateValue, evaluateWhere, matchesWhere, referencedProperties } from './where.js';
import type { WhereContext, WhereNode } from './where.js';
import { makeOffsetLookup, parseWallClock } from './time.js';
import { parseJson, isRecord } from './json.js';
import { MAX_LINE_BYTES } from './generator.js';

export interface ExportPlan {
  /** True UTC range [fromMs, toMs). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly events: ReadonlySet<string> | undefined;
  readonly where: WhereNode | undefined;
  readonly limit: number | undefined;
  readonly timeInMs: boolean;
  readonly nowMs: number;
}

const TIME_ONLY = new Set(['$time', 'time', 'mp_processing_time_ms']);

class EventWhereContext implements WhereContext {
  timeMs = 0;
  procMs = 0;
  name = '';
  private props: Readonly<Record<string, unknown>> | undefined;
  private line: (() => string) | undefined;

  constructor(readonly parseDateTime: (text: string) => number) {}

  reset(timeMs: number, procMs: number, name: string, props: Readonly<Record<string, unknown>> | undefined, line: (() => string) | undefined): void {
    this.timeMs = timeMs;
    this.procMs = procMs;
    this.name = name;
    this.props = props;
    this.line = line;
  }

  get(name: string): unknown {
    if (name === '$time' || name === 'time') return new DateValue(this.timeMs);
    if (name === 'mp_processing_time_ms') return this.procMs;
    if (name === '$event_name' || name === 'event') {
      const v = this.properties()[name];
      return v === undefined && name === '$event_name' ? this.name : v;
    }
    return this.properties()[name];
  }

  private properties(): Readonly<Record<string, unknown>> {
    if (this.props === undefined) {
      const parsed = parseJson(this.line?.() ?? '{}');
      const p = isRecord(parsed) ? parsed['properties'] : undefined;
      this.props = isRecord(p) ? p : {};
    }
    return this.props;
  }
}

/** Longest delay between an event's time and its processing in generated data (see generator.ts), plus slack. */
const MAX_GENERATED_DELAY_MS = 72 * 3_600_000 + 60_000;

interface TimeRange {
  readonly lo: number;
  readonly hi: number;
}

const FULL: TimeRange = { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY };

function constantMs(node: WhereNode, asTime: boolean, ctx: WhereContext): number | undefined {
  if (referencedProperties(node).size > 0) return undefined;
  const v = evaluateWhere(node, ctx);
  if (v instanceof DateValue) return v.ms;
  if (typeof v !== 'number') return undefined;
  return asTime && Math.abs(v) < 1e11 ? v * 1000 : v;
}

/**
 * The event-time range a `where` implies (conservative: events outside it cannot match), so generated events
 * are only computed for the indexes that can match. Reads conjunctions of comparisons of `$time`/`time`
 * (and `mp_processing_time_ms`, since time ≤ processing time ≤ time + 72 h) with constants.
 */
export function impliedTimeRange(node: WhereNode, ctx: WhereContext): TimeRange {
  if (node.kind !== 'binary') return FULL;
  if (node.op === 'and') {
    const a = impliedTimeRange(node.left, ctx);
    const b = impliedTimeRange(node.right, ctx);
    return { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
  }
  if (!['>', '>=', '<', '<='].includes(node.op)) return FULL;
  let prop = node.left;
  let other = node.right;
  let op = node.op;
  if (prop.kind !== 'property') {
    prop = node.right;
    other = node.left;
    op = op === '>' ? '<' : op === '>=' ? '<=' : op === '<' ? '>' : '>=';
  }
  if (prop.kind !== 'property') return FULL;
  const isTime = prop.name === '$time' || prop.name === 'time';
  const isProc = prop.name === 'mp_processing_time_ms';
  if (!isTime && !isProc) return FULL;
  const v = constantMs(other, isTime, ctx);
  if (v === undefined || Number.isNaN(v)) return FULL;
  if (isTime) {
    if (op === '>') return { lo: Math.floor(v) + 1, hi: FULL.hi };
    if (op === '>=') return { lo: Math.ceil(v), hi: FULL.hi };
    if (op === '<') return { lo: FULL.lo, hi: Math.ceil(v) };
    return { lo: FULL.lo, hi: Math.floor(v) + 1 };
  }
  // time ≤ processing time ≤ time + max delay
  if (op === '<' || op === '<=') return { lo: FULL.lo, hi: Math.floor(v) + 1 };
  return { lo: Math.floor(v) - MAX_GENERATED_DELAY_MS, hi: FULL.hi };
}

export interface ChunkOptions {
  /** Flush a chunk once it holds this many bytes. */
  readonly chunkBytes: number;
  /** Stop after this many lines and end with a bare `terminated early` line. */
  readonly terminatedAfter?: number;
  /**
   * After scanning this many generated events without filling a chunk, yield what is there (possibly an empty
   * buffer) so a server can give the event loop a turn during sparse scans.
   */
  readonly scanBudget?: number;
}

const NEWLINE = 10;
const TERMINATED = Buffer.from('terminated early\n');

/**
 * The export body as byte chunks (each ends with a newline), in the order the emulator serves it: generated
 * events (written byte by byte from precomputed fragments) then ingested ones.
 */
export function* exportChunks(store: ProjectStore, plan: ExportPlan, options: ChunkOptions): Generator<Buffer, void, undefined> {
  const project = store.project;
  const zone = project.legacyLocalTime ? project.timezone : 'UTC';
  const offsetOf = project.legacyLocalTime ? makeOffsetLookup(project.timezone) : (): number => 0;
  const ctx = new EventWhereContext((text) => parseWallClock(text, zone));
  const where = plan.where;
  const timeOnly = where === undefined || [...referencedProperties(where)].every((n) => TIME_ONLY.has(n));
  let remaining = Math.min(plan.limit ?? Number.POSITIVE_INFINITY, options.terminatedAfter ?? Number.POSITIVE_INFINITY);
  const capacity = options.chunkBytes + MAX_LINE_BYTES;
  let buf = Buffer.allocUnsafe(capacity);
  let off = 0;
  const take = (): Buffer => {
    const out = buf.subarray(0, off);
    buf = Buffer.allocUnsafe(capacity);
    off = 0;
    return out;
  };

  const g = store.generator;
  if (g !== null && g.eventsPerDay > 0 && remaining > 0) {
    const implied = where === undefined ? FULL : impliedTimeRange(where, ctx);
    const lower = Math.max(plan.fromMs, implied.lo);
    const upper = Math.min(plan.toMs, plan.nowMs + 1, implied.hi);
    const first = g.firstIndexAtOrAfter(lower);
    const bound = upper > lower ? g.indexBound(upper) : first;
    const budget = options.scanBudget ?? Number.POSITIVE_INFINITY;
    let scanned = 0;
    for (let i = first; i < bound && remaining > 0; i++) {
      if (++scanned >= budget) {
        scanned = 0;
        yield take();
      }
      const t = g.timeOf(i);
      if (t < lower || t >= upper || t < g.windowStartMs) continue;
      const proc = g.processingOf(i, t);
      if (proc > plan.nowMs) continue;
      if (plan.events !== undefined && !plan.events.has(g.eventName(i))) continue;
      const stored = t + offsetOf(t);
      const start = off;
      off = g.writeLine(buf, off, i, plan.timeInMs ? stored : Math.floor(stored / 1000), proc);
      if (where !== undefined) {
        const end = off;
        const written = buf;
        ctx.reset(t, proc, g.eventName(i), timeOnly ? {} : undefined, () => written.toString('utf8', start, end));
        if (!matchesWhere(where, ctx)) {
          off = start;
          continue;
        }
      }
      buf[off++] = NEWLINE;
      remaining--;
      if (off >= options.chunkBytes) {
        scanned = 0;
        yield take();
      }
    }
  }

  for (const e of store.events) {
    if (remaining <= 0) break;
    if (!visible(e, plan)) continue;
    if (where !== undefined) {
      ctx.reset(e.timeMs, e.procMs, e.name, e.props, undefined);
      if (!matchesWhere(where, ctx)) continue;
    }
    const stored = e.timeMs + offsetOf(e.timeMs);
    const line = `${e.head}${plan.timeInMs ? stored : Math.floor(stored / 1000)}${e.rest}\n`;
    const size = Buffer.byteLength(line);
    if (off + size > capacity) {
      if (off > 0) yield take();
      if (size > capacity) {
        yield Buffer.from(line);
        remaining--;
        continue;
      }
    }
    off += buf.write(line, off);
    remaining--;
    if (off >= options.chunkBytes) yield take();
  }

  if (options.terminatedAfter !== undefined && remaining <= 0 && (plan.limit ?? Number.POSITIVE_INFINITY) > options.terminatedAfter) {
    if (off + TERMINATED.length > capacity) yield take();
    off += TERMINATED.copy(buf, off);
  }
  if (off > 0) yield take();
}

/** Export lines (without newline) in the order the emulator serves them. */
export function* exportLines(store: ProjectStore, plan: ExportPlan): Generator<string, void, undefined> {
  for (const chunk of exportChunks(store, plan, { chunkBytes: 1 << 20 })) {
    const parts = chunk.toString('utf8').split('\n');
    parts.pop();
    yield* parts;
  }
}

function visible(e: StoredEvent, plan: ExportPlan): boolean {
  if (e.timeMs < plan.fromMs || e.timeMs >= plan.toMs || e.procMs > plan.nowMs) return false;
  return plan.events === undefined || plan.events.has(e.name);
}
