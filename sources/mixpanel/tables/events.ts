/**
 * `events`: Mixpanel raw export, incremental on processing time (docs/ARCHITECTURE.md "events: the incremental
 * model"), cdc on `dedupe_key`, partitioned by `event_date`.
 */
import type { TableMetadata } from '../../../connector-spec/index.js';
import { parseEventsCursor } from '../events/cursor.js';
import { dateInZone } from '../events/dates.js';
import { readEvents } from '../events/read.js';
import { EVENTS_OPTION_SPECS, checkEventsDates, parseEventsOptions, type EventsOptions } from '../events/options.js';
import { cursorDriftMissing, cursorDriftWarnings, freshRead, type FreshRead } from '../events/plan.js';
import { rereadEventsCursor } from '../events/reread.js';
import { EVENTS_METADATA } from '../events/schema.js';
import { defineTable, type TableSetup } from '../table.js';

/** The zone export dates are read in: UTC, or the project zone for legacy (pre-2023) projects. */
function exportZone(setup: TableSetup): string {
  return setup.config.legacyLocalTime ? setup.config.projectTimezone : 'UTC';
}

/** The options checked against the run's clock, and what a read from a null cursor would re-read. */
function resolveOptions(setup: TableSetup, options: EventsOptions): FreshRead {
  const zone = exportZone(setup);
  checkEventsDates(options, dateInZone(setup.runStartMs - options.safetyLagMs, zone), zone);
  return freshRead({ options, runStartMs: setup.runStartMs, zone, historicalDays: setup.config.historicalDays });
}

export const events = defineTable({
  name: 'events',
  description: 'Raw events from the export API: exact UTC time, typed standard properties, lossless custom_properties; merged on dedupe_key.',
  metadata: EVENTS_METADATA,
  options: EVENTS_OPTION_SPECS,
  // The columns depend on select_properties_by_default / properties; the default is EVENTS_SCHEMA itself.
  schema: (tableOptions) => parseEventsOptions(tableOptions).columns.schema,
  resolve(setup, tableOptions): TableMetadata {
    const fresh = resolveOptions(setup, parseEventsOptions(tableOptions));
    return { ...EVENTS_METADATA, freshReadFrom: { column: 'event_date', from: fresh.partitionFrom, reason: fresh.reason } };
  },
  rereadCursor(setup, cursor, partitions, tableOptions) {
    if (partitions.column !== EVENTS_METADATA.partitionBy) return undefined;
    const options = parseEventsOptions(tableOptions);
    return rereadEventsCursor({ cursor, dates: partitions.values, zone: exportZone(setup), windowDays: options.windowDays });
  },
  read(ctx, cursor, tableOptions) {
    const options = parseEventsOptions(tableOptions);
    const fresh = resolveOptions(ctx, options);
    // Once per table run: the host keeps one stats object across the run's calls. Dates the cursor will never read
    // are knowingly missing (exit 3 until a full refresh); rows the options no longer ask for are information.
    const parsed = parseEventsCursor(cursor);
    for (const [list, notes] of [
      [ctx.stats.missing, cursorDriftMissing(ctx.table, parsed, options, fresh)],
      [ctx.stats.warnings, cursorDriftWarnings(ctx.table, parsed, options, fresh)],
    ] as const) {
      for (const note of notes) if (!list.includes(note)) list.push(note);
    }
    return readEvents(ctx, cursor, tableOptions);
  },
});
