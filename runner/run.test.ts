import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeForReport } from './index.js';
import { filesEncodedOnWorkers } from '../lakehouse/parquet/parquet-encoder.js';
import { readParquetFile } from '../lakehouse/parquet/parquet-reader.js';
import { committedCursor, deltaScan, liveFiles, query, tableRows } from './testing/duckdb.js';
import { captureLogger, runFixture, strayFiles, tempDirs, type Dirs } from './testing/harness.js';
import { makeDataset, type ItemChange } from './testing/memory-source.js';

/** Oracle: newest updated_at per id, a later arrival wins a tie. */
function expectedItems(items: readonly ItemChange[]): Map<string, ItemChange> {
  const out = new Map<string, ItemChange>();
  for (const item of items) {
    const current = out.get(item.id);
    if (!current || item.updatedAt >= current.updatedAt) out.set(item.id, item);
  }
  return out;
}

let dirs: Dirs;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('runPipeline semantics (fixture source, DuckDB as the reader)', () => {
  it('cdc keeps one row per key with the newest sequence; append, snapshot and SCD2 land right; types are exact', async () => {
    expect.hasAssertions();
    const report = await runFixture(dirs);
    expect(report.tables.map((t) => [t.table, t.status])).toEqual([
      ['items', 'ok'],
      ['items_history', 'ok'],
      ['events', 'ok'],
      ['logs', 'ok'],
      ['members', 'ok'],
    ]);
    expect(exitCodeForReport(report)).toBe(0);
    const data = makeDataset();
    // cdc: one row per key, newest wins.
    const [counts] = await query(`SELECT count(*)::INT n, count(DISTINCT id)::INT k FROM ${await deltaScan(dirs.lakehouse, 'items')}`);
    const expected = expectedItems(data.items);
    expect(counts).toEqual({ n: expected.size, k: expected.size });
    const rows = await query(`SELECT id, epoch_ms(updated_at)::BIGINT::VARCHAR t, value::VARCHAR v, label, props FROM ${await deltaScan(dirs.lakehouse, 'items')} ORDER BY id`);
    for (const row of rows) {
      const want = expected.get(String(row['id']))!;
      expect(row['t']).toBe(String(want.updatedAt));
      expect(row['v']).toBe(String(want.value));
      expect(row['label']).toBe(want.label);
    }
    // Types as a lakehouse reader sees them.
    const describe = Object.fromEntries(
      (await query(`DESCRIBE SELECT * FROM ${await deltaScan(dirs.lakehouse, 'items')}`)).map((r) => [r['column_name'], r['column_type']]),
    );
    expect(describe).toMatchObject({ id: 'VARCHAR', updated_at: 'TIMESTAMP WITH TIME ZONE', value: 'BIGINT', props: 'MAP(VARCHAR, VARCHAR)' });
    const [mapRow] = await query(`SELECT props['kind'] AS kind FROM ${await deltaScan(dirs.lakehouse, 'items')} WHERE id = 'item-0000'`);
    expect(['"even"', '"odd"', null]).toContain(mapRow!['kind']);
    // Key-value metadata and codec.
    const kv = await query(`SELECT DISTINCT decode(key) k, decode(value) v FROM parquet_kv_metadata('${dirs.lakehouse}/items/*.parquet') WHERE decode(key) LIKE 'lakeflow.%'`);
    const meta = Object.fromEntries(kv.map((r) => [r['k'], r['v']]));
    expect(meta).toMatchObject({ 'lakeflow.primary_keys': '["id"]', 'lakeflow.ingestion_type': 'cdc', 'lakeflow.cursor_field': 'updated_at', 'lakeflow.table': 'items' });
    // The Arrow schema is embedded exactly: field metadata, UTC timestamps, MAP.
    const parquet = (await readdir(path.join(dirs.lakehouse, 'items'))).find((f) => f.endsWith('.parquet'))!;
    const arrow = await readParquetFile(path.join(dirs.lakehouse, 'items', parquet));
    expect(arrow.schema.fields.find((f) => f.name === 'id')!.metadata.get('comment')).toBe('item id');
    // Delta timestamps are microseconds, UTC-adjusted.
    expect(String(arrow.schema.fields.find((f) => f.name === 'updated_at')!.type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(String(arrow.schema.fields.find((f) => f.name === 'props')!.type)).toBe('Map<{key:Utf8, value:Utf8}>');
    expect(arrow.schema.metadata.get('lakeflow.primary_keys')).toBe('["id"]');
    const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata('${dirs.lakehouse}/**/*.parquet')`);
    expect(codecs).toEqual([{ compression: 'ZSTD' }]);

    // Partitioned cdc with a two-column sequence: re-deliveries win, hive partitions read with the right types.
    const events = await query(`SELECT event_id, name, event_date::VARCHAR d, typeof(event_date) dt, typeof(time) tt FROM ${await deltaScan(dirs.lakehouse, 'events')}`);
    const distinct = new Set(data.events.map((e) => e.eventId));
    expect(events.length).toBe(distinct.size);
    const winner = new Map<string, string>();
    for (const e of data.events) winner.set(e.eventId, e.name); // later processed_at, same time → later row
    for (const e of events) {
      expect(e['name']).toBe(winner.get(String(e['event_id'])));
      expect(e['dt']).toBe('VARCHAR'); // its declared type (Utf8), from the Delta schema, not a type guessed from a folder name
      expect(e['tt']).toBe('TIMESTAMP WITH TIME ZONE');
    }
    const dirsOnDisk = (await readdir(path.join(dirs.lakehouse, 'events'))).filter((d) => d.startsWith('event_date='));
    expect(dirsOnDisk.length).toBe(new Set(data.events.map((e) => e.eventDate)).size);
    const [pruned] = await query(`SELECT count(*)::INT n FROM ${await deltaScan(dirs.lakehouse, 'events')} WHERE event_date = DATE '${data.events[0]!.eventDate}'`);
    expect(pruned!['n']).toBe(new Set(data.events.filter((e) => e.eventDate === data.events[0]!.eventDate).map((e) => e.eventId)).size);

    // append: every row once.
    const [logs] = await query(`SELECT count(*)::INT n, count(DISTINCT seq)::INT k FROM ${await deltaScan(dirs.lakehouse, 'logs')}`);
    expect(logs).toEqual({ n: data.logs.length, k: data.logs.length });

    // snapshot.
    const [members] = await query(`SELECT count(*)::INT n FROM ${await deltaScan(dirs.lakehouse, 'members')}`);
    expect(members!['n']).toBe(data.members.length);

    // SCD2: every distinct version kept, exactly one open version per key, the chain closes at the next start.
    const history = await query(
      `SELECT id, epoch_ms(updated_at)::BIGINT::VARCHAR t, epoch_ms(__start_at)::BIGINT::VARCHAR s, epoch_ms(__end_at)::BIGINT::VARCHAR e FROM ${await deltaScan(dirs.lakehouse, 'items_history')} ORDER BY id, __start_at`,
    );
    const versions = new Map<string, Set<number>>();
    for (const item of data.items) {
      const set = versions.get(item.id) ?? new Set<number>();
      set.add(item.updatedAt);
      versions.set(item.id, set);
    }
    expect(history.length).toBe([...versions.values()].reduce((n, s) => n + s.size, 0));
    const byId = new Map<string, typeof history>();
    for (const h of history) byId.set(String(h['id']), [...(byId.get(String(h['id'])) ?? []), h]);
    for (const [id, hs] of byId) {
      expect(hs.map((h) => Number(h['s']))).toEqual([...versions.get(id)!].sort((a, b) => a - b));
      hs.forEach((h, i) => {
        expect(h['s']).toBe(h['t']);
        expect(h['e']).toBe(i + 1 < hs.length ? hs[i + 1]!['s'] : null);
      });
    }
    expect(await strayFiles(dirs.lakehouse)).toEqual([]);
  });

  it('encodes a merged call on the calling thread and streamed rows (append, snapshot) on the encoder worker', async () => {
    const before = filesEncodedOnWorkers();
    const merged = await runFixture(dirs, { tables: ['items'] });
    expect(merged.tables.find((t) => t.table === 'items')?.status).toBe('ok');
    expect((await liveFiles(dirs.lakehouse, 'items')).length).toBeGreaterThan(0);
    expect(filesEncodedOnWorkers()).toBe(before); // cdc rows are written after the read: one heap
    const streamed = await runFixture(dirs, { tables: ['logs', 'members'] });
    expect(streamed.tables.filter((t) => t.table === 'logs' || t.table === 'members').map((t) => t.status)).toEqual(['ok', 'ok']);
    const files = (await liveFiles(dirs.lakehouse, 'logs')).length + (await liveFiles(dirs.lakehouse, 'members')).length;
    expect(files).toBeGreaterThan(0);
    expect(filesEncodedOnWorkers() - before).toBe(files);
  });

  it('is incremental: a second run with nothing new commits nothing; new data merges into the same result as one clean run', async () => {
    expect.hasAssertions();
    await runFixture(dirs, { dataset: { itemChanges: 150, events: 100, logs: 90 } });
    const grown = await runFixture(dirs);
    const items = grown.tables.find((t) => t.table === 'items')!;
    expect(items.cursorBefore).toEqual({ offset: 150 });
    expect(items.rowsRead).toBe(250);
    expect(items.rowsMerged).toBeGreaterThan(0);
    const again = await runFixture(dirs);
    for (const t of again.tables.filter((x) => x.ingestionType !== 'snapshot')) {
      expect(t.commits).toBe(0);
      expect(t.rowsRead).toBe(0);
      expect(t.cursorAfter).toEqual(t.cursorBefore);
    }
    const clean = await tempDirs();
    try {
      await runFixture(clean);
      for (const table of ['items', 'items_history', 'events', 'logs', 'members']) {
        expect(await tableRows(dirs.lakehouse, table)).toEqual(await tableRows(clean.lakehouse, table));
      }
    } finally {
      await clean.cleanup();
    }
  });

  it('snapshot replaces the table atomically and reports joins/leaves per group', async () => {
    expect.hasAssertions();
    const only = { tables: ['members'] };
    await runFixture(dirs, { ...only, dataset: { generation: 0 } });
    const report = await runFixture(dirs, { ...only, dataset: { generation: 1 } });
    const before = makeDataset({ generation: 0 }).members;
    const after = makeDataset({ generation: 1 }).members;
    const rows = await query(`SELECT group_id, member_id FROM ${await deltaScan(dirs.lakehouse, 'members')} ORDER BY ALL`);
    expect(rows.map((r) => `${r['group_id']}/${r['member_id']}`)).toEqual(after.map((m) => `${m.groupId}/${m.memberId}`).sort());
    const diff = report.tables[0]!.snapshotDiff!;
    expect(diff.groupBy).toBe('group_id');
    const key = (m: { groupId: string; memberId: string }) => `${m.groupId}/${m.memberId}`;
    const b = new Set(before.map(key));
    const a = new Set(after.map(key));
    for (const group of ['cohort-0', 'cohort-1', 'cohort-2']) {
      const joins = after.filter((m) => m.groupId === group && !b.has(key(m))).length;
      const leaves = before.filter((m) => m.groupId === group && !a.has(key(m))).length;
      expect(diff.groups[group] ?? { added: 0, removed: 0 }).toEqual({ added: joins, removed: leaves });
    }
    expect(diff.added).toBeGreaterThan(0);
    expect(diff.removed).toBeGreaterThan(0);
    // The replaced file stays in storage (a Delta remove; vacuum deletes it later), the log has one live file.
    expect(await liveFiles(dirs.lakehouse, 'members')).toHaveLength(1);
  });

  it('discards a failing call and retries it with the same cursor; 429 waits; reports count them', async () => {
    expect.hasAssertions();
    const report = await runFixture(dirs, {
      failures: [
        { table: 'items', call: 2, kind: 'transient', afterBatches: 2 },
        { table: 'logs', call: 1, kind: 'rate_limit', afterBatches: 1, retryAfterMs: 3 },
      ],
    });
    const items = report.tables.find((t) => t.table === 'items')!;
    const logs = report.tables.find((t) => t.table === 'logs')!;
    expect(items.status).toBe('ok');
    expect(items.retries).toBe(1);
    expect(logs.rateLimitWaits).toBe(1);
    expect(logs.rateLimitWaitMs).toBe(3);
    const clean = await tempDirs();
    try {
      await runFixture(clean);
      for (const table of ['items', 'logs']) expect(await tableRows(dirs.lakehouse, table)).toEqual(await tableRows(clean.lakehouse, table));
    } finally {
      await clean.cleanup();
    }
  });

  it('a non-retryable error fails only its table and keeps its committed data; not entitled skips with a warning', async () => {
    expect.hasAssertions();
    const logger = captureLogger();
    const report = await runFixture(dirs, {
      logger,
      failures: [
        { table: 'items', call: 3, kind: 'data', afterBatches: 1 },
        { table: 'members', call: 1, kind: 'not_entitled' },
      ],
    });
    const byName = Object.fromEntries(report.tables.map((t) => [t.table, t]));
    expect(byName['items']!.status).toBe('failed');
    expect(byName['items']!.error).toMatchObject({ code: 'FIXTURE_DATA', kind: 'data' });
    expect(byName['items']!.cursorAfter).toEqual({ offset: 180 });
    expect(byName['members']!.status).toBe('skipped');
    expect(byName['members']!.missing.join(' ')).toContain('needs a paid plan');
    expect(byName['events']!.status).toBe('ok');
    expect(exitCodeForReport(report)).toBe(1);
    // The cursor lives in the table's own log, committed with the data behind it.
    expect(await committedCursor(dirs.lakehouse, 'items')).toEqual({ offset: 180 });
    const [n] = await query(`SELECT count(DISTINCT id)::INT k, count(*)::INT n FROM ${await deltaScan(dirs.lakehouse, 'items')}`);
    expect(n!['k']).toBe(n!['n']);
    expect(n!['n']).toBe(expectedItems(makeDataset().items.slice(0, 180)).size);
    // Skipped only → partial.
    const partial = await runFixture(dirs, { tables: ['members'], failures: [{ table: 'members', call: 1, kind: 'not_entitled' }] });
    expect(exitCodeForReport(partial)).toBe(3);
    const reports = await readdir(path.join(dirs.state, 'runs'));
    expect(reports.length).toBe(2);
    const written = JSON.parse(await readFile(path.join(dirs.state, 'runs', reports.sort()[0]!), 'utf8')) as { tables: { table: string; apiCalls: number; durationMs: number }[] };
    expect(written.tables.find((t) => t.table === 'events')!.apiCalls).toBeGreaterThan(0);
  });

  it('--tables runs a subset and --full-refresh drops one table and its cursor', async () => {
    expect.hasAssertions();
    await runFixture(dirs, { dataset: { logs: 120 } });
    const subset = await runFixture(dirs, { tables: ['logs'], fullRefresh: ['logs'] });
    expect(subset.tables.map((t) => t.table)).toEqual(['logs']);
    expect(subset.tables[0]!.cursorBefore).toBeNull();
    const [logs] = await query(`SELECT count(*)::INT n, count(DISTINCT seq)::INT k FROM ${await deltaScan(dirs.lakehouse, 'logs')}`);
    expect(logs).toEqual({ n: 250, k: 250 });
    await expect(runFixture(dirs, { tables: ['lgs'] })).rejects.toThrow(/--tables lgs: not a table of fixture_spec\.json; did you mean logs\?/);
  });

  it('compacts a partition that accumulated many small files while keeping one row per key', async () => {
    expect.hasAssertions();
    const spec = { connection_name: 'memory', objects: [{ table: { source_table: 'events', table_configuration: { page_size: 1 } } }] };
    const report = await runFixture(dirs, { spec, dataset: { events: 40 } });
    expect(report.tables[0]!.commits).toBe(40);
    const perDay = new Map<string, number>();
    for (const file of await liveFiles(dirs.lakehouse, 'events')) {
      const day = String(file.partitionValues['event_date']);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    expect(Math.max(...perDay.values())).toBeLessThanOrEqual(9);
    expect([...perDay.values()].reduce((a, b) => a + b, 0)).toBeLessThan(40);
    const data = makeDataset({ events: 40 });
    const [row] = await query(`SELECT count(*)::INT n, count(DISTINCT event_id)::INT k FROM ${await deltaScan(dirs.lakehouse, 'events')}`);
    const distinct = new Set(data.events.map((e) => e.eventId)).size;
    expect(row).toEqual({ n: distinct, k: distinct });
  });
});
