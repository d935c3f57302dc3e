/**
 * `events`: Mixpanel raw export, incremental on processing time (docs/ARCHITECTURE.md "events: the incremental
 * model"), cdc on `dedupe_key`, partitioned by `event_date`.
 */
import { readEvents } from '../events/read.js';
import { EVENTS_OPTION_SPECS, parseEventsOptions } from '../events/options.js';
import { EVENTS_METADATA } from '../events/schema.js';
import { defineTable } from '../table.js';

export const events = defineTable({
  name: 'events',
  description: 'Raw events from the export API: exact UTC time, typed standard properties, lossless custom_properties; merged on dedupe_key.',
  metadata: EVENTS_METADATA,
  options: EVENTS_OPTION_SPECS,
  // The columns depend on select_properties_by_default / properties; the default is EVENTS_SCHEMA itself.
  schema: (tableOptions) => parseEventsOptions(tableOptions).columns.schema,
  read: readEvents,
});
