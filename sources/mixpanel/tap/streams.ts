/**
 * The tap's streams and the tables behind them, and which columns of a table come from a Mixpanel property
 * (so Singer mode can name them as the tap does: `insert_id` ← `$insert_id` → `mp_reserved_insert_id`).
 */
import { EVENT_PROPERTIES, PEOPLE_PROPERTIES } from '../properties.js';

export interface TapStream {
  /** The Singer stream name (the tap's name, so targets keep their table names). */
  readonly stream: string;
  /** The connector table read for it. */
  readonly table: string;
}

/** The tap's streams, in the tap's sync order. */
export const TAP_STREAMS: readonly TapStream[] = Object.freeze([
  { stream: 'export', table: 'events' },
  { stream: 'engage', table: 'engage' },
  { stream: 'funnels', table: 'funnels' },
  { stream: 'annotations', table: 'annotations' },
  { stream: 'cohorts', table: 'cohorts' },
  { stream: 'cohort_members', table: 'cohort_members' },
  { stream: 'revenue', table: 'revenue' },
]);

const EVENT_COLUMNS = new Map<string, string>([
  ...EVENT_PROPERTIES.map((p) => [p.column, p.property] as [string, string]),
  ['insert_id', '$insert_id'],
  ['time', 'time'],
  ['distinct_id', 'distinct_id'],
  ['mp_processing_time_ms', 'mp_processing_time_ms'],
]);

const PEOPLE_COLUMNS = new Map<string, string>(PEOPLE_PROPERTIES.flatMap((p) => [[p.column, p.property] as [string, string], [`${p.column}_raw`, `${p.property}_raw`] as [string, string]]));

/** The Mixpanel property a column holds, or undefined for the connector's own columns. */
export function propertyOfColumn(table: string, column: string): string | undefined {
  if (table === 'events') return EVENT_COLUMNS.get(column);
  if (table === 'engage' || table === 'groups') return PEOPLE_COLUMNS.get(column);
  return undefined;
}

/** The column of lossless JSON text holding every other property (custom_properties). */
export const CUSTOM_COLUMN = 'custom_properties';
