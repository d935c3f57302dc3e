import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Table as ArrowTable, tableToIPC } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBatchBuilder } from './builder.js';
import { LineSplitter } from './lines.js';

const dir = mkdtempSync(path.join(tmpdir(), 'events-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('events batches in Parquet (read back by DuckDB)', () => {
  it('keeps types and every hostile value exactly', async () => {
    expect.hasAssertions();
    const big = '3928097563762691601';
    const lines = [
      `{"event":"A","properties":{"time":1718020800123,"distinct_id":"u1","$insert_id":"i1","mp_processing_time_ms":1718020801000,"$browser":"Chrome","$screen_width":1920,"$browser_version":"17.1.2","big":${big},"nested":{"a":[1,true,null]},"s":"x\u2028y😀","$carrier":"c\u0006"}}`,
      `{"event":"B","properties":{"time":1718020800000,"distinct_id":"","mp_processing_time_ms":1718020801000,"ok":false}}`,
    ];
    const builder = new EventBatchBuilder(null, 'parquet');
    const splitter = new LineSplitter(builder);
    splitter.push(Buffer.from(lines.join('\n') + '\n', 'utf8'));
    splitter.finish('parquet');
    const batch = builder.flush();
    const wasm = WasmTable.fromIPCStream(tableToIPC(new ArrowTable([batch]), 'stream'));
    const file = path.join(dir, 'events.parquet');
    writeFileSync(file, writeParquet(wasm, new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build()));
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const types = (await connection.runAndReadAll(`DESCRIBE SELECT dedupe_key, time, time_raw, insert_id_missing, screen_width, browser_version, custom_properties FROM read_parquet('${file}')`)).getRowObjectsJson();
      expect(types.map((t) => `${String(t['column_name'])}:${String(t['column_type'])}`)).toEqual([
        'dedupe_key:VARCHAR',
        'time:TIMESTAMP WITH TIME ZONE',
        'time_raw:BIGINT',
        'insert_id_missing:BOOLEAN',
        'screen_width:BIGINT',
        'browser_version:DOUBLE',
        'custom_properties:MAP(VARCHAR, VARCHAR)',
      ]);
      const rows = (
        await connection.runAndReadAll(
          `SELECT event, epoch_ms(time) AS ms, time_raw::VARCHAR AS raw, distinct_id, insert_id, insert_id_missing, browser, screen_width, browser_version, carrier,
                  custom_properties['big'] AS big, custom_properties['nested'] AS nested, custom_properties['s'] AS s, custom_properties['$browser_version'] AS bv,
                  custom_properties['ok'] AS ok, event_date
           FROM read_parquet('${file}') ORDER BY event`,
        )
      ).getRowObjectsJson();
      expect(rows).toEqual([
        {
          event: 'A', ms: '1718020800123', raw: '1718020800123', distinct_id: 'u1', insert_id: 'i1', insert_id_missing: false, browser: 'Chrome', screen_width: '1920',
          browser_version: null, carrier: 'c\u0006', big, nested: '{"a":[1,true,null]}', s: JSON.stringify('x\u2028y😀'), bv: '"17.1.2"', ok: null, event_date: '2024-06-10',
        },
        {
          event: 'B', ms: '1718020800000', raw: '1718020800000', distinct_id: '', insert_id: null, insert_id_missing: true, browser: null, screen_width: null,
          browser_version: null, carrier: null, big: null, nested: null, s: null, bv: null, ok: 'false', event_date: '2024-06-10',
        },
      ]);
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  });
});
