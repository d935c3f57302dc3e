/** Action parsing is tolerant of what other writers add, strict about what we rely on. */
import { describe, expect, it } from 'vitest';
import { ActionParseError, numRecordsOf, parseCommitFile } from './actions.js';
import { parseInterval } from './table-properties.js';
import { decodeAddPath, encodeAddPath, parseLogFileName, partitionKey } from './paths.js';

describe('commit files', () => {
  it('ignores unknown fields and unknown actions (domainMetadata, cdc, checkpointMetadata, sidecar)', () => {
    const text = [
      '{"commitInfo":{"timestamp":1,"whatever":{"x":1}}}',
      '{"domainMetadata":{"domain":"delta.rowTracking","configuration":"{}","removed":false}}',
      '{"cdc":{"path":"_change_data/x.parquet","partitionValues":{},"size":1,"dataChange":false}}',
      '{"checkpointMetadata":{"version":1}}',
      '{"sidecar":{"path":"a.parquet","sizeInBytes":1,"modificationTime":1}}',
      '',
      '{"add":{"path":"a%20b.parquet","partitionValues":{"d":null},"size":5,"modificationTime":2,"dataChange":true,"stats":"{\\"numRecords\\":7,\\"minValues\\":{}}","newField":[1,2],"clusteringProvider":"liquid"}}',
      '{"remove":{"path":"old.parquet","dataChange":true}}',
      '{"txn":{"appId":"a","version":3}}',
    ].join('\n');
    const actions = parseCommitFile(text);
    expect(actions.map((a) => (a.kind === 'other' ? `other:${a.name}` : a.kind))).toEqual(['commitInfo', 'other:domainMetadata', 'other:cdc', 'other:checkpointMetadata', 'other:sidecar', 'add', 'remove', 'txn']);
    const add = actions[5];
    expect(add?.kind === 'add' && add.add).toEqual({ path: 'a%20b.parquet', partitionValues: { d: null }, size: 5, modificationTime: 2, dataChange: true, stats: '{"numRecords":7,"minValues":{}}', numRecords: 7 });
    const remove = actions[6];
    expect(remove?.kind === 'remove' && remove.remove.deletionTimestamp).toBe(0);
  });

  it('names the line of a torn or malformed commit', () => {
    expect(() => parseCommitFile('{"commitInfo":{}}\n{"add":{"path":"x","partitionV')).toThrow(ActionParseError);
    expect(() => parseCommitFile('{"commitInfo":{}}\n{"add":{"path":"x","partitionV')).toThrow(/line 2 is not JSON/);
    expect(() => parseCommitFile('{"add":{"path":42}}')).toThrow(/line 1: add.path is not a string/);
    expect(() => parseCommitFile('{"protocol":{"minReaderVersion":"one"}}')).toThrow(/minReaderVersion is not a number/);
  });

  it('reads numRecords without parsing the whole stats text', () => {
    expect(numRecordsOf('{"numRecords":123,"minValues":{"s":"x"}}')).toBe(123);
    expect(numRecordsOf('{"minValues":{}}')).toBeUndefined();
    expect(numRecordsOf(undefined)).toBeUndefined();
  });
});

describe('names and paths', () => {
  it('classifies log file names', () => {
    expect(parseLogFileName('00000000000000000010.json')).toEqual({ kind: 'commit', version: 10 });
    expect(parseLogFileName('00000000000000000010.checkpoint.parquet')).toEqual({ kind: 'checkpoint', version: 10, part: 1, parts: 1 });
    expect(parseLogFileName('00000000000000000010.checkpoint.0000000002.0000000003.parquet')).toEqual({ kind: 'checkpoint', version: 10, part: 2, parts: 3 });
    expect(parseLogFileName('00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json')).toEqual({ kind: 'uuid-checkpoint', version: 10 });
    expect(parseLogFileName('00000000000000000004.00000000000000000006.compacted.json')).toEqual({ kind: 'compacted', version: 4, endVersion: 6 });
    expect(parseLogFileName('_last_checkpoint')).toEqual({ kind: 'last-checkpoint' });
    expect(parseLogFileName('_sidecars/x.parquet')).toEqual({ kind: 'other' });
  });

  it('URI-encodes add paths as Spark does and decodes them back', () => {
    const stored = 'as_timestamp=2021-09-08 11%3A11%3A11/part-0.parquet';
    expect(encodeAddPath(stored)).toBe('as_timestamp=2021-09-08%2011%253A11%253A11/part-0.parquet');
    expect(decodeAddPath(encodeAddPath(stored))).toBe(stored);
    expect(decodeAddPath('event_date=2026-11-20/part-1.parquet')).toBe('event_date=2026-11-20/part-1.parquet');
  });

  it('builds partition keys', () => {
    expect(partitionKey([], {})).toBe('');
    expect(partitionKey(['event_date'], { event_date: '2026-11-20' })).toBe('2026-11-20');
    expect(partitionKey(['event_date'], { event_date: null })).toBe('');
    expect(partitionKey(['a', 'b'], { a: '1', b: null })).toBe('a=1/b=');
  });

  it('parses Delta intervals', () => {
    expect(parseInterval('interval 30 days')).toBe(30 * 86_400_000);
    expect(parseInterval('interval 1 week')).toBe(7 * 86_400_000);
    expect(parseInterval('interval 168 hours')).toBe(168 * 3_600_000);
    expect(parseInterval('INTERVAL 2 DAYS')).toBe(2 * 86_400_000);
    expect(parseInterval('interval 1 month')).toBeUndefined();
    expect(parseInterval('thirty days')).toBeUndefined();
  });
});
