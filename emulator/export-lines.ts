/**
 * The lines of a raw export: generated events (computed from their index range) then ingested ones,
 * filtered by date range, visibility (`mp_processing_time_ms` ≤ clock), `event`, `where` and `limit`.
 */
import type { ProjectStore, StoredEvent } from './store.js';
import { DateValue, matchesWhere, referencedProperties } from './where.js';
import type { WhereContext, WhereNode } from './where.js';
import { makeOffsetLookup, parseWallClock } from './time.js';
import { parseJson, isRecord } from './json.js';

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
  private line: string | undefined;

  constructor(readonly parseDateTime: (text: string) => number) {}

  reset(timeMs: number, procMs: number, name: string, props: Readonly<Record<string, unknown>> | undefined, line: string | undefined): void {
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
      const parsed = parseJson(this.line ?? '{}');
      const p = isRecord(parsed) ? parsed['properties'] : undefined;
      this.props = isRecord(p) ? p : {};
    }
    return this.props;
  }
}

/** Export lines (without newline) in the order the emulator serves them. */
export function* exportLines(store: ProjectStore, plan: ExportPlan): Generator<string, void, undefined> {
  const project = store.project;
  const zone = project.legacyLocalTime ? project.timezone : 'UTC';
  const offsetOf = project.legacyLocalTime ? makeOffsetLookup(project.timezone) : (): number => 0;
  const ctx = new EventWhereContext((text) => parseWallClock(text, zone));
  const where = plan.where;
  const timeOnly = where === undefined || [...referencedProperties(where)].every((n) => TIME_ONLY.has(n));
  let remaining = plan.limit ?? Number.POSITIVE_INFINITY;
  if (remaining <= 0) return;

  const g = store.generator;
  if (g !== null && g.eventsPerDay > 0) {
    const upper = Math.min(plan.toMs, plan.nowMs + 1);
    const first = g.firstIndexAtOrAfter(plan.fromMs);
    const bound = g.indexBound(upper);
    for (let i = first; i < bound; i++) {
      const t = g.timeOf(i);
      if (t < plan.fromMs || t >= upper || t < g.windowStartMs) continue;
      const proc = g.processingOf(i, t);
      if (proc > plan.nowMs) continue;
      if (plan.events !== undefined && !plan.events.has(g.eventName(i))) continue;
      const stored = t + offsetOf(t);
      const line = g.line(i, plan.timeInMs ? stored : Math.floor(stored / 1000), proc, g.distinctIdOf(i));
      if (where !== undefined) {
        ctx.reset(t, proc, g.eventName(i), timeOnly ? {} : undefined, line);
        if (!matchesWhere(where, ctx)) continue;
      }
      yield line;
      if (--remaining <= 0) return;
    }
  }

  for (const e of store.events) {
    if (!visible(e, plan)) continue;
    if (where !== undefined) {
      ctx.reset(e.timeMs, e.procMs, e.name, e.props, undefined);
      if (!matchesWhere(where, ctx)) continue;
    }
    const stored = e.timeMs + offsetOf(e.timeMs);
    yield `${e.head}${plan.timeInMs ? stored : Math.floor(stored / 1000)}${e.rest}`;
    if (--remaining <= 0) return;
  }
}

function visible(e: StoredEvent, plan: ExportPlan): boolean {
  if (e.timeMs < plan.fromMs || e.timeMs >= plan.toMs || e.procMs > plan.nowMs) return false;
  return plan.events === undefined || plan.events.has(e.name);
}
