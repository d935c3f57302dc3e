/**
 * The in-memory state of one project: ingested events, profile overrides, cohorts, group profiles and
 * engage sessions, on top of the generated data (which is never materialised).
 */
import type { CohortInfo, EmulatorProject, NewCohort, ProfileRecord, EmulatorJson } from './types.js';
import type { DataGenerator } from './generator.js';
import { isRecord, numberValue, stringifyJson } from './json.js';
import { cohortCreated, mixpanelDateTime } from './time.js';

export interface StoredEvent {
  readonly name: string;
  /** True UTC event time (ms). */
  readonly timeMs: number;
  readonly procMs: number;
  /** `{"event":"…","properties":{"time":` */
  readonly head: string;
  /** Everything after the time value: `,"k":v…}}` or `}}`. */
  readonly rest: string;
  /** Parsed properties (lossless), for `where`. */
  readonly props: Readonly<Record<string, unknown>>;
}

export type Props = Record<string, unknown>;

/** Event `time` as sent (seconds, fractional seconds or ms) → ms. */
export function timeToMs(time: number): number {
  return Math.abs(time) < 1e11 ? Math.round(time * 1000) : Math.round(time);
}

export function storedEvent(name: string, properties: Readonly<Record<string, unknown>>, procMs: number, extra: Readonly<Record<string, unknown>> = {}): StoredEvent {
  const time = numberValue(properties['time']);
  const timeMs = time === undefined ? procMs : timeToMs(time);
  const props: Props = {};
  for (const [k, v] of Object.entries(properties)) if (k !== 'time') props[k] = v;
  for (const [k, v] of Object.entries(extra)) props[k] = v;
  props['mp_processing_time_ms'] = procMs;
  const body = stringifyJson(props);
  const rest = body === '{}' ? '}}' : `,${body.slice(1)}}`;
  return { name, timeMs, procMs, head: `{"event":${JSON.stringify(name)},"properties":{"time":`, rest, props };
}

interface CohortState {
  id: number;
  name: string;
  description: string;
  isVisible: 0 | 1;
  created: string;
  dataGroupId: number | null;
  /** null = the generator's members (computed on demand). */
  members: string[] | null;
  generatedIndex: number;
  dataGroupDeleted: boolean;
}

export interface EngageSession {
  readonly id: string;
  readonly ids: readonly string[];
  readonly createdMs: number;
  readonly dataGroupId: number | undefined;
  /** Ids that are listed without a profile (cohort members with include_all_users). */
  readonly withoutProfile: ReadonlySet<string>;
}

export class ProjectStore {
  readonly events: StoredEvent[] = [];
  /** distinct_id → properties (null = deleted). Overrides the generated profile of the same id. */
  private readonly profileOverlay = new Map<string, Props | null>();
  /** Ids of profiles that are not generated, in creation order. */
  private readonly extraProfileOrder: string[] = [];
  private readonly cohorts = new Map<number, CohortState>();
  private readonly groups = new Map<number, Map<string, Props>>();
  private readonly groupKeys = new Map<string, number>();
  readonly sessions = new Map<string, EngageSession>();
  sessionCounter = 0;
  private nextCohortId = 9000;
  private nextDataGroupId = 1;

  constructor(
    readonly project: EmulatorProject,
    readonly generator: DataGenerator | null,
    private readonly now: () => number,
  ) {
    if (generator !== null) {
      for (let c = 0; c < generator.cohorts; c++) {
        const id = generator.cohortId(c);
        this.cohorts.set(id, {
          id,
          name: generator.cohortName(c),
          description: c % 3 === 0 ? '' : `Generated cohort ${c}`,
          isVisible: generator.cohortVisible(c),
          created: generator.cohortCreated(c),
          dataGroupId: null,
          members: null,
          generatedIndex: c,
          dataGroupDeleted: false,
        });
      }
    }
  }

  // ---- events ----

  addEvent(e: StoredEvent): void {
    this.events.push(e);
  }

  // ---- profiles ----

  getProfile(distinctId: string): Props | undefined {
    const o = this.profileOverlay.get(distinctId);
    if (o === null) return undefined;
    if (o !== undefined) return o;
    const g = this.generator;
    if (g === null) return undefined;
    const p = g.profileIndex(distinctId);
    return p < 0 ? undefined : g.profileProperties(p, this.now());
  }

  hasProfile(distinctId: string): boolean {
    return this.getProfile(distinctId) !== undefined;
  }

  /** All user profile ids in engage order: generated ones by index, then the others by creation. */
  profileIds(): string[] {
    const out: string[] = [];
    const g = this.generator;
    if (g !== null) {
      for (let p = 0; p < g.profiles; p++) {
        const id = g.profileDistinctId(p);
        if (this.profileOverlay.get(id) !== null) out.push(id);
      }
    }
    for (const id of this.extraProfileOrder) if (this.profileOverlay.get(id) !== null && this.profileOverlay.has(id)) out.push(id);
    return out;
  }

  setProfile(distinctId: string, props: Props, ignoreTime: boolean): void {
    const next: Props = { ...props };
    if (!ignoreTime) next['$last_seen'] = mixpanelDateTime(this.now());
    this.putProfile(distinctId, next);
  }

  private putProfile(distinctId: string, props: Props): void {
    const generated = this.generator !== null && this.generator.profileIndex(distinctId) >= 0;
    if (!generated && !this.extraProfileOrder.includes(distinctId)) this.extraProfileOrder.push(distinctId);
    this.profileOverlay.set(distinctId, props);
  }

  /** Apply one Mixpanel profile operation. Returns an error message when the operation is malformed. */
  applyProfileOperation(distinctId: string, op: string, value: unknown, ignoreTime: boolean): string | undefined {
    if (op === '$delete') {
      this.deleteProfile(distinctId);
      return undefined;
    }
    const current = this.getProfile(distinctId);
    const props: Props = current === undefined ? {} : { ...current };
    const err = applyOperation(props, op, value);
    if (err !== undefined) return err;
    if (!ignoreTime) props['$last_seen'] = mixpanelDateTime(this.now());
    this.putProfile(distinctId, props);
    return undefined;
  }

  deleteProfile(distinctId: string): void {
    this.profileOverlay.set(distinctId, null);
  }

  listProfiles(): ProfileRecord[] {
    return this.profileIds().map((id) => ({ distinctId: id, properties: (this.getProfile(id) ?? {}) as Record<string, EmulatorJson> }));
  }

  // ---- groups ----

  dataGroupIdForKey(groupKey: string): number {
    let id = this.groupKeys.get(groupKey);
    if (id === undefined) {
      id = this.nextDataGroupId++;
      this.groupKeys.set(groupKey, id);
    }
    return id;
  }

  groupProfiles(dataGroupId: number): Map<string, Props> {
    let m = this.groups.get(dataGroupId);
    if (m === undefined) {
      m = new Map();
      this.groups.set(dataGroupId, m);
    }
    return m;
  }

  applyGroupOperation(dataGroupId: number, groupId: string, op: string, value: unknown): string | undefined {
    const m = this.groupProfiles(dataGroupId);
    if (op === '$delete') {
      m.delete(groupId);
      return undefined;
    }
    const props: Props = { ...(m.get(groupId) ?? {}) };
    const err = applyOperation(props, op, value);
    if (err !== undefined) return err;
    m.set(groupId, props);
    return undefined;
  }

  // ---- cohorts ----

  addCohort(c: NewCohort): CohortInfo {
    const id = c.id ?? this.nextCohortId++;
    if (id >= this.nextCohortId) this.nextCohortId = id + 1;
    this.cohorts.set(id, {
      id,
      name: c.name,
      description: c.description ?? '',
      isVisible: c.isVisible === false ? 0 : 1,
      created: c.created ?? cohortCreated(this.now()),
      dataGroupId: c.dataGroupId ?? null,
      members: [...(c.members ?? [])],
      generatedIndex: -1,
      dataGroupDeleted: false,
    });
    return this.cohortInfo(id) as CohortInfo;
  }

  removeCohort(id: number): void {
    this.cohorts.delete(id);
  }

  hasCohort(id: number): boolean {
    return this.cohorts.has(id);
  }

  cohortMembers(id: number): string[] | undefined {
    const c = this.cohorts.get(id);
    if (c === undefined) return undefined;
    if (c.members === null) c.members = this.generator?.cohortMembers(c.generatedIndex) ?? [];
    return c.members;
  }

  cohortDataGroup(id: number): { readonly dataGroupId: number | null; readonly deleted: boolean } | undefined {
    const c = this.cohorts.get(id);
    return c === undefined ? undefined : { dataGroupId: c.dataGroupId, deleted: c.dataGroupDeleted };
  }

  setCohortMembers(id: number, members: readonly string[]): void {
    const c = this.cohorts.get(id);
    if (c === undefined) throw new Error(`No cohort ${id} in project ${this.project.id}: add it with data.addCohort first`);
    c.members = [...members];
  }

  markCohortDataGroupDeleted(id: number): void {
    const c = this.cohorts.get(id);
    if (c === undefined) throw new Error(`No cohort ${id} in project ${this.project.id}`);
    c.dataGroupDeleted = true;
  }

  cohortInfo(id: number): CohortInfo | undefined {
    const c = this.cohorts.get(id);
    if (c === undefined) return undefined;
    return {
      count: (this.cohortMembers(id) ?? []).length,
      is_visible: c.isVisible,
      description: c.description,
      created: c.created,
      project_id: this.project.id,
      id: c.id,
      name: c.name,
      data_group_id: c.dataGroupId,
    };
  }

  listCohorts(): CohortInfo[] {
    return [...this.cohorts.keys()].map((id) => this.cohortInfo(id) as CohortInfo);
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return stringifyJson(a) === stringifyJson(b);
}

/** Mixpanel's profile operations on a property bag (mutates `props`). */
export function applyOperation(props: Props, op: string, value: unknown): string | undefined {
  switch (op) {
    case '$set':
    case '$set_once': {
      if (!isRecord(value)) return `${op} must be an object`;
      for (const [k, v] of Object.entries(value)) if (op === '$set' || !(k in props)) props[k] = v;
      return undefined;
    }
    case '$add': {
      if (!isRecord(value)) return '$add must be an object';
      for (const [k, v] of Object.entries(value)) {
        const by = numberValue(v);
        if (by === undefined) return `$add value for ${k} must be a number`;
        const cur = numberValue(props[k]) ?? 0;
        props[k] = cur + by;
      }
      return undefined;
    }
    case '$append': {
      if (!isRecord(value)) return '$append must be an object';
      for (const [k, v] of Object.entries(value)) {
        const cur = props[k];
        props[k] = Array.isArray(cur) ? [...(cur as unknown[]), v] : [v];
      }
      return undefined;
    }
    case '$union': {
      if (!isRecord(value)) return '$union must be an object';
      for (const [k, v] of Object.entries(value)) {
        if (!Array.isArray(v)) return `$union value for ${k} must be a list`;
        const cur = Array.isArray(props[k]) ? [...(props[k] as unknown[])] : [];
        for (const item of v as unknown[]) if (!cur.some((x) => sameJson(x, item))) cur.push(item);
        props[k] = cur;
      }
      return undefined;
    }
    case '$remove': {
      if (!isRecord(value)) return '$remove must be an object';
      for (const [k, v] of Object.entries(value)) {
        const cur = props[k];
        if (Array.isArray(cur)) props[k] = (cur as unknown[]).filter((x) => !sameJson(x, v));
      }
      return undefined;
    }
    case '$unset': {
      if (!Array.isArray(value)) return '$unset must be a list of property names';
      for (const k of value as unknown[]) if (typeof k === 'string') delete props[k];
      return undefined;
    }
  }
  return `unknown operation ${op}`;
}

export const PROFILE_OPERATIONS = ['$set', '$set_once', '$add', '$append', '$union', '$remove', '$unset', '$delete'] as const;
