import type { RecordBatch, Schema } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, cursorsEqual, type Cursor, type LakeflowSource, type TableOptions } from '../../../connector-spec/index.js';
import { startEmulator, type Emulator } from '../../../emulator/index.js';
import { EVENT_PROPERTIES } from '../properties.js';
import { rowsOf, type Row } from '../testing/driver.js';
import { emulatorSource } from '../testing/emulator-source.js';
import { EVENTS_SCHEMA } from './schema.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2024-06-10T12:00:00Z');
const NO_LIMITS = { exportPerHour: Infinity, exportPerSecond: Infinity, exportConcurrent: Infinity, queryPerHour: Infinity, queryConcurrent: Infinity };
const CORE = ['dedupe_key', 'event', 'insert_id', 'insert_id_missing', 'distinct_id', 'time', 'time_raw', 'time_flag', 'event_date', 'mp_processing_time_ms'];
const ONLY_BROWSER: TableOptions = { select_properties_by_default: 'false', properties: '$browser', safety_lag: '0', start_date: '2024-06-08' };

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const fieldsOf = (schema: Schema): string[] => schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`);
const names = (schema: Schema): string[] => schema.fields.map((f) => f.name);

/** Every batch of every call until the cursor converges (one run). */
async function readAll(source: LakeflowSource, tableOptions: TableOptions): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  let cursor: Cursor = null;
  for (let call = 0; call < 50; call++) {
    const read = source.readTable('events', cursor, { tableOptions });
    let step = await read.next();
    for (; !step.done; step = await read.next()) batches.push(step.value);
    if (cursorsEqual(step.value, cursor)) return batches;
    cursor = step.value;
  }
  throw new Error('no convergence');
}

function syncError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a synchronous throw');
}

async function seeded(): Promise<LakeflowSource> {
  const now = (): number => T0;
  emulator = await startEmulator({ now, limits: NO_LIMITS });
  emulator.data.importEvents(
    [
      {
        event: 'Page View',
        properties: { time: T0 - 2 * HOUR, distinct_id: 'u1', $insert_id: 'i1', $browser: 'Firefox', $os: 'Mac OS X', mp_country_code: 'DE', $screen_width: 1920, $browser_version: 126.5, plan: 'pro' },
      },
      { event: 'Misfit', properties: { time: T0 - HOUR, distinct_id: 'u2', $insert_id: 'i2', $browser: 12345, $os: null } },
    ],
    { processingTimeMs: T0 - HOUR },
  );
  return emulatorSource(emulator, { now });
}

describe('events: select_properties_by_default=false + properties', () => {
  it('getSchema: only the named standard properties are columns, core columns stay, order-independent and deterministic', async () => {
    expect.hasAssertions();
    const source = await seeded();
    const schema = await source.getSchema('events', { tableOptions: ONLY_BROWSER });
    expect(names(schema)).toEqual([...CORE, 'browser', 'custom_properties']);
    expect(names(schema)).not.toContain('os');

    const three = await source.getSchema('events', { tableOptions: { select_properties_by_default: 'false', properties: '["mp_country_code","$os","$browser"]' } });
    const again = await source.getSchema('events', { tableOptions: { select_properties_by_default: 'false', properties: ' $browser, mp_country_code ,$os,$os' } });
    expect(names(three)).toEqual([...CORE, 'mp_country_code', 'os', 'browser', 'custom_properties']);
    expect(fieldsOf(again)).toEqual(fieldsOf(three));

    const none = await source.getSchema('events', { tableOptions: { select_properties_by_default: 'false' } });
    expect(names(none)).toEqual([...CORE, 'custom_properties']);
    // The default is the full schema, byte for byte (the acceptance snapshot checks its text).
    expect(fieldsOf(await source.getSchema('events'))).toEqual(fieldsOf(EVENTS_SCHEMA));
    expect(fieldsOf(await source.getSchema('events', { tableOptions: { select_properties_by_default: 'TRUE' } }))).toEqual(fieldsOf(EVENTS_SCHEMA));
  });

  it('batches match getSchema exactly; $os and every unselected standard property stay raw in custom_properties', async () => {
    expect.hasAssertions();
    const source = await seeded();
    const schema = await source.getSchema('events', { tableOptions: ONLY_BROWSER });
    const batches = await readAll(source, ONLY_BROWSER);
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) expect(fieldsOf(b.schema)).toEqual(fieldsOf(schema));
    const rows = batches.flatMap(rowsOf);
    const byId = new Map<string, Row>(rows.map((r) => [String(r['insert_id']), r]));
    expect([...byId.keys()].sort()).toEqual(['i1', 'i2']);

    const pv = byId.get('i1')!;
    expect(pv['browser']).toBe('Firefox');
    expect(pv).not.toHaveProperty('os');
    expect(pv['custom_properties']).toEqual({
      $os: '"Mac OS X"',
      mp_country_code: '"DE"',
      $screen_width: '1920',
      $browser_version: '126.5',
      plan: '"pro"',
    });
    // A selected property whose value does not fit stays raw too; an unselected null stays as null.
    const misfit = byId.get('i2')!;
    expect(misfit['browser']).toBeNull();
    expect(misfit['custom_properties']).toEqual({ $browser: '12345', $os: 'null' });
  });

  it('the default read still types $os (the option really changes the mapping)', async () => {
    expect.hasAssertions();
    const source = await seeded();
    const rows = (await readAll(source, { safety_lag: '0', start_date: '2024-06-08' })).flatMap(rowsOf);
    const pv = rows.find((r) => r['insert_id'] === 'i1')!;
    expect(pv['os']).toBe('Mac OS X');
    expect(pv['screen_width']).toBe(1920n);
    expect(pv['custom_properties']).toEqual({ plan: '"pro"' });
  });

  it('rejects unknown property names synchronously, listing the valid ones and the near miss', async () => {
    expect.hasAssertions();
    const source = await seeded();
    const error = syncError(() => source.readTable('events', null, { tableOptions: { select_properties_by_default: 'false', properties: '$browser,browser_os,os' } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('"browser_os"');
    for (const p of EVENT_PROPERTIES) expect(error.message).toContain(p.property);

    const nearMiss = syncError(() => source.readTable('events', null, { tableOptions: { select_properties_by_default: 'false', properties: 'os' } }));
    expect(nearMiss.message).toContain('did you mean $os?');
    const column = syncError(() => source.readTable('events', null, { tableOptions: { select_properties_by_default: 'false', properties: 'is_import' } }));
    expect(column.message).toContain('did you mean $import?');

    const withoutFalse = syncError(() => source.readTable('events', null, { tableOptions: { properties: '$browser' } }));
    expect(withoutFalse).toBeInstanceOf(ConfigError);
    expect(withoutFalse.message).toContain('select_properties_by_default=false');
    const badBool = syncError(() => source.readTable('events', null, { tableOptions: { select_properties_by_default: 'no' } }));
    expect(badBool.message).toContain('must be true or false');
    await expect(source.getSchema('events', { tableOptions: { select_properties_by_default: 'false', properties: '$nope' } })).rejects.toBeInstanceOf(ConfigError);
    // Core properties are always columns: naming them is accepted and changes nothing.
    const core = await source.getSchema('events', { tableOptions: { select_properties_by_default: 'false', properties: 'time,distinct_id,$insert_id' } });
    expect(names(core)).toEqual([...CORE, 'custom_properties']);
  });
});
