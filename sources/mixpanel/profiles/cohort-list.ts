/** Validation and Arrow mapping of `cohorts/list` (a bare JSON array; some servers wrap it in `{cohorts: [...]}`). Pure. */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns, DataError } from '../../../connector-spec/index.js';
import { parseProfileDatetime } from './datetime.js';
import { idText } from './engage-response.js';
import { cohortsSchema } from './schema.js';

export const COHORTS_LIST_PATH = '/api/query/cohorts/list';

export interface Cohort {
  /** Exact id (bigint when beyond 2^53). */
  readonly id: bigint;
  readonly name: string | null;
  readonly description: string | null;
  readonly count: bigint | null;
  readonly isVisible: boolean | null;
  readonly createdMs: number | null;
  readonly createdRaw: string | null;
  readonly projectId: bigint | null;
  readonly dataGroupId: string | null;
}

const KNOWN = new Set(['id', 'name', 'description', 'count', 'is_visible', 'created', 'project_id', 'data_group_id']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(table: string, why: string): DataError {
  return new DataError(`table ${table}: cohorts/list answered with ${why}; check MIXPANEL_BASE_URL points at Mixpanel`, {
    code: 'MP_COHORTS_BAD_RESPONSE',
    context: { table },
  });
}

function int(value: unknown): bigint | null {
  const text = idText(value);
  return text !== undefined && /^-?\d+$/.test(text) ? BigInt(text) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function visible(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1') return true;
  if (value === 0 || value === '0') return false;
  return null;
}

export interface ParsedCohorts {
  readonly cohorts: readonly Cohort[];
  /** Field names the schema has no column for (reported, never silently mistyped). */
  readonly unknownFields: readonly string[];
}

export function parseCohortList(body: unknown, table: string): ParsedCohorts {
  const list = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.cohorts) ? body.cohorts : undefined;
  if (list === undefined) throw bad(table, 'neither an array nor {"cohorts": [...]}');
  const unknown = new Set<string>();
  const cohorts: Cohort[] = [];
  for (const item of list as unknown[]) {
    if (!isObject(item)) throw bad(table, 'an entry that is not an object');
    const id = int(item.id);
    if (id === null) throw bad(table, 'a cohort without an integer id');
    for (const key of Object.keys(item)) if (!KNOWN.has(key)) unknown.add(key);
    const created = item.created;
    cohorts.push({
      id,
      name: text(item.name),
      description: text(item.description),
      count: int(item.count),
      isVisible: visible(item.is_visible),
      createdMs: created === undefined || created === null ? null : parseProfileDatetime(created),
      createdRaw: created === undefined || created === null ? null : typeof created === 'string' ? created : String(idText(created) ?? JSON.stringify(created)),
      projectId: int(item.project_id),
      dataGroupId: item.data_group_id === undefined || item.data_group_id === null ? null : (idText(item.data_group_id) ?? null),
    });
  }
  cohorts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { cohorts, unknownFields: [...unknown].sort() };
}

export function cohortsBatch(cohorts: readonly Cohort[]): RecordBatch {
  return batchFromColumns(cohortsSchema(), [
    cohorts.map((c) => c.id),
    cohorts.map((c) => c.name),
    cohorts.map((c) => c.description),
    cohorts.map((c) => c.count),
    cohorts.map((c) => c.isVisible),
    cohorts.map((c) => c.createdMs),
    cohorts.map((c) => c.createdRaw),
    cohorts.map((c) => c.projectId),
    cohorts.map((c) => c.dataGroupId),
  ]);
}
