/**
 * The column plan (dictionary only where values repeat, statistics only on top-level columns) and the files it
 * produces: written in-thread and on the encoder worker, read back by DuckDB with the same values, types and
 * encodings either way.
 */
import { Field, Int64, Schema, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { META_PRIMARY_KEYS, batchFromColumns, timestampMsUtc, utf8MapType, type ColumnValues } from '../../connector-spec/index.js';
import { duckQuery as query } from '../testing/duckdb-delta.js';
import { tempStore, type TempStore } from '../testing/tables.js';
import { DISTINCT_SHARE, MIN_SAMPLE, SAMPLE_ROWS, parquetColumnPlan, primaryKeysOf } from './parquet-columns.js';
import { EncoderWorker } from './parquet-encoder.js';
import { ParquetFileWriter } from './parquet-writer.js';

const schema = new Schema([
  new Field('key', new Utf8(), false),
  new Field('kind', new Utf8(), true),
  new Field('uuid', new Utf8(), true),
  new Field('n', new Int64(), true),
  new Field('t', timestampMsUtc(), true),
  new Field('m', utf8MapType(), true),
]);

function rows(count: number, from = 0): ColumnValues[] {
  const index = Array.from({ length: count }, (_, i) => from + i);
  return [
    index.map((i) => `k-${i}`),
    index.map((i) => (i % 7 === 0 ? null : `kind-${i % 3}`)),
    index.map((i) => `u-${(i * 2_654_435_761) % 1_000_003}`),
    index.map((i) => BigInt(i % 5)),
    index.map((i) => 1_700_000_000_000 + i),
    index.map((i) => (i % 9 === 0 ? null : ([['a', String(i % 2)], ['b', `v${i}`]] as [string, string | null][]))),
  ];
}

describe('parquetColumnPlan', () => {
  it('keeps dictionaries for repeating columns only, statistics for top-level columns only', () => {
    const plan = parquetColumnPlan([batchFromColumns(schema, rows(5_000))], ['key']);
    expect(plan.dictionary).toEqual(['kind', 'n']);
    expect(plan.statistics).toEqual(['key', 'kind', 'uuid', 'n', 't']);
  });

  it('writes primary keys plain even in a small first batch, and keeps dictionaries when the sample is too small', () => {
    const plan = parquetColumnPlan([batchFromColumns(schema, rows(MIN_SAMPLE - 1))], ['key']);
    expect(plan.dictionary).toEqual(['kind', 'uuid', 'n', 't']);
    expect(DISTINCT_SHARE).toBeGreaterThan(0);
  });

  it('samples across the first batches, whatever their sizes', () => {
    const plan = parquetColumnPlan([batchFromColumns(schema, rows(10)), batchFromColumns(schema, rows(3_000, 10))], ['key']);
    expect(plan.dictionary).toEqual(['kind', 'n']);
  });

  it('reads the primary keys from the key-value metadata', () => {
    expect(primaryKeysOf(new Map([[META_PRIMARY_KEYS, '["a","b"]']]))).toEqual(['a', 'b']);
    expect(primaryKeysOf(new Map())).toEqual([]);
  });
});

let temp: TempStore;
beforeEach(async () => {
  temp = await tempStore('parquet-columns-');
});
afterEach(async () => {
  await temp.remove();
});

describe('files written with the plan', () => {
  for (const mode of ['in-thread', 'worker'] as const) {
    it(`${mode}: DuckDB reads the same rows and types, with the planned encodings and statistics`, async () => {
      const encoder = mode === 'worker' ? new EncoderWorker() : undefined;
      try {
        const file = `${temp.dir}/${mode}.parquet`;
        const writer = await ParquetFileWriter.open({
          upload: await temp.store.createUpload(`${mode}.parquet`),
          keyValueMetadata: new Map([[META_PRIMARY_KEYS, '["key"]']]),
          ...(encoder ? { encoder } : {}),
        });
        await writer.write(batchFromColumns(schema, rows(3_000)));
        await writer.write(batchFromColumns(schema, rows(3_000, 3_000)));
        expect((await writer.close()).rows).toBe(6_000);

        const [summary] = await query(
          `SELECT count(*)::INTEGER AS rows, count(DISTINCT key)::INTEGER AS keys, epoch_ms(min(t))::BIGINT::VARCHAR AS first, sum(n)::INTEGER AS n,
                  any_value(typeof(t)) AS t_type, any_value(typeof(m)) AS m_type,
                  max(m['b']) FILTER (WHERE key = 'k-5000') AS b
           FROM read_parquet('${file}')`,
        );
        expect(summary).toMatchObject({ rows: 6_000, keys: 6_000, first: '1700000000000', n: 12_000, t_type: 'TIMESTAMP WITH TIME ZONE', m_type: 'MAP(VARCHAR, VARCHAR)', b: 'v5000' });

        const columns = await query(
          `SELECT path_in_schema AS col, bool_or(encodings LIKE '%DICTIONARY%') AS dict, bool_or(stats_min_value IS NOT NULL) AS stats
           FROM parquet_metadata('${file}') GROUP BY 1 ORDER BY 1`,
        );
        expect(columns).toEqual([
          { col: 'key', dict: false, stats: true },
          { col: 'kind', dict: true, stats: true },
          { col: 'm, entries, key', dict: false, stats: false },
          { col: 'm, entries, value', dict: false, stats: false },
          { col: 'n', dict: true, stats: true },
          { col: 't', dict: false, stats: true },
          { col: 'uuid', dict: false, stats: true },
        ]);
      } finally {
        await encoder?.terminate();
      }
    });
  }
});

describe('a file that begins with a sliver of rows', () => {
  // A partition's first rows are often the tail of a batch that began in the day before: the plan must come from
  // the file's first SAMPLE_ROWS rows, not from however many rows its first batch happened to hold.
  for (const mode of ['in-thread', 'worker'] as const) {
    it(`${mode}: distinct columns are written plain, and every row arrives in order`, async () => {
      const encoder = mode === 'worker' ? new EncoderWorker() : undefined;
      try {
        const file = `${temp.dir}/sliver-${mode}.parquet`;
        const writer = await ParquetFileWriter.open({
          upload: await temp.store.createUpload(`sliver-${mode}.parquet`),
          keyValueMetadata: new Map([[META_PRIMARY_KEYS, '["key"]']]),
          ...(encoder ? { encoder } : {}),
        });
        const sliver = 5;
        expect(sliver).toBeLessThan(MIN_SAMPLE);
        await writer.write(batchFromColumns(schema, rows(sliver)));
        await writer.write(batchFromColumns(schema, rows(SAMPLE_ROWS / 2, sliver)));
        await writer.write(batchFromColumns(schema, rows(3_000, sliver + SAMPLE_ROWS / 2)));
        const total = sliver + SAMPLE_ROWS / 2 + 3_000;
        expect((await writer.close()).rows).toBe(total);

        const [order] = await query(
          `SELECT count(*)::INTEGER AS rows, bool_and(key = 'k-' || (rn - 1)) AS in_order
           FROM (SELECT key, row_number() OVER () AS rn FROM read_parquet('${file}'))`,
        );
        expect(order).toEqual({ rows: total, in_order: true });
        const columns = await query(
          `SELECT path_in_schema AS col, bool_or(encodings LIKE '%DICTIONARY%') AS dict
           FROM parquet_metadata('${file}') WHERE path_in_schema IN ('kind', 'uuid', 't') GROUP BY 1 ORDER BY 1`,
        );
        expect(columns).toEqual([
          { col: 'kind', dict: true },
          { col: 't', dict: false },
          { col: 'uuid', dict: false },
        ]);
      } finally {
        await encoder?.terminate();
      }
    });
  }

  it('a file smaller than the sample is planned from all of its rows at close', async () => {
    const file = `${temp.dir}/small.parquet`;
    const writer = await ParquetFileWriter.open({ upload: await temp.store.createUpload('small.parquet'), keyValueMetadata: new Map([[META_PRIMARY_KEYS, '["key"]']]) });
    await writer.write(batchFromColumns(schema, rows(40)));
    await writer.write(batchFromColumns(schema, rows(400, 40)));
    expect((await writer.close()).rows).toBe(440);
    const columns = await query(
      `SELECT path_in_schema AS col, bool_or(encodings LIKE '%DICTIONARY%') AS dict, count(*)::INTEGER AS chunks
       FROM parquet_metadata('${file}') WHERE path_in_schema IN ('kind', 'uuid') GROUP BY 1 ORDER BY 1`,
    );
    expect(columns).toEqual([
      { col: 'kind', dict: true, chunks: 1 },
      { col: 'uuid', dict: false, chunks: 1 },
    ]);
    const [count] = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT key)::INTEGER AS k FROM read_parquet('${file}')`);
    expect(count).toEqual({ n: 440, k: 440 });
  });
});
