/**
 * One broken variant of the fixture per check (a few checks have two). Each declares the exact set of tests
 * it must fail; the self-tests run every check against every mutant and compare the whole verdict vector.
 */
import { Field, Schema, TimeUnit, Timestamp, Utf8, type RecordBatch } from 'apache-arrow';
import { withTableMetadata } from '../../arrow/schema-metadata.js';
import { ConfigError } from '../../errors.js';
import { cursorsEqual, isStartCursor, type Cursor, type LakeflowSource, type TableRead } from '../../types.js';
import type { AcceptanceOptions, SourceEnv } from '../types.js';
import { FIXTURE_SECRET, FIXTURE_TABLES, fixtureOptions, type FixtureConfig, type FixtureQuirks, type FixtureSource } from './fixture.js';
import type { FixtureStore } from './store.js';
import { delegate, forTable, mapCall, rebuildBatch, replaceField } from './wrap.js';

export interface Mutant {
  readonly name: string;
  /** The check this mutant was built to trip. */
  readonly builtFor: string;
  readonly description: string;
  /** Every test id this mutant must fail; every other test keeps the correct fixture's verdict. */
  readonly fails: readonly string[];
  /** The failure message expected from the `builtFor` test. */
  readonly message: RegExp;
  readonly wrap?: (source: FixtureSource, env: SourceEnv) => LakeflowSource;
  readonly quirks?: FixtureQuirks;
}

export function mutantOptions(mutant: Mutant, store: FixtureStore): AcceptanceOptions<FixtureConfig> {
  return fixtureOptions(store, mutant.wrap, mutant.quirks);
}

const isFixtureTable = (t: string): boolean => (FIXTURE_TABLES as readonly string[]).includes(t);
const every = (check: string): string[] => FIXTURE_TABLES.map((t) => `${t} > ${check}`);

function unknownTable(t: string, extra = ''): ConfigError {
  return new ConfigError(`unknown table "${t}"${extra}`, { code: 'FIXTURE_UNKNOWN_TABLE', context: { table: t } });
}

/** Keep the base's synchronous validation, then read nothing and return the input cursor. */
function readsNothing(base: LakeflowSource, t: string, c: Cursor, o: Parameters<LakeflowSource['readTable']>[2]): TableRead {
  void base.readTable(t, c, o).return(null);
  return (async function* (): TableRead {
    return c;
  })();
}

function sortKeys(c: Cursor): Cursor {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return c;
  const o = c as Record<string, Cursor>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!])) as Cursor;
}

const keyText = (c: Cursor): string => JSON.stringify(sortKeys(c));

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'lists-a-table-twice',
    builtFor: 'lists tables',
    description: 'listTables() names orders twice',
    fails: ['lists tables'],
    message: /more than once: orders/,
    wrap: (s) => delegate(s, { listTables: async () => [...(await s.listTables()), 'orders'] }),
  },
  {
    name: 'unknown-table-throws-lazily',
    builtFor: 'unknown table throws a typed error on call',
    description: 'readTable of an unknown table returns a generator that throws on the first next()',
    fails: ['unknown table throws a typed error on call'],
    message: /readTable returned a generator instead of throwing when called/,
    wrap: (s) =>
      delegate(s, {
        readTable: (t, c, o) =>
          isFixtureTable(t)
            ? s.readTable(t, c, o)
            : (async function* (): TableRead {
                throw unknownTable(t);
              })(),
      }),
  },
  {
    name: 'unknown-table-untyped-error',
    builtFor: 'unknown table throws a typed error on call',
    description: 'an unknown table raises a plain Error',
    fails: ['unknown table throws a typed error on call'],
    message: /getSchema threw Error, not a ConnectorError/,
    wrap: (s) => {
      const guard = (t: string): void => {
        if (!isFixtureTable(t)) throw new Error(`no table ${t}`);
      };
      return delegate(s, {
        getSchema: async (t, o) => (guard(t), s.getSchema(t, o)),
        readTableMetadata: async (t, o) => (guard(t), s.readTableMetadata(t, o)),
        readTable: (t, c, o) => (guard(t), s.readTable(t, c, o)),
      });
    },
  },
  {
    name: 'schema-changes-between-calls',
    builtFor: 'schema is deterministic with unique names',
    description: 'the second getSchema(orders) of a source returns the fields in another order',
    fails: ['orders > schema is deterministic with unique names'],
    message: /different schema on a second call: field order/,
    wrap: (s) => {
      let calls = 0;
      return delegate(s, {
        getSchema: async (t, o) => {
          const schema = await s.getSchema(t, o);
          return t === 'orders' && calls++ > 0 ? new Schema([...schema.fields].reverse(), schema.metadata) : schema;
        },
      });
    },
  },
  {
    name: 'cursor-field-not-in-schema',
    builtFor: 'metadata is valid and matches the schema',
    description: 'readTableMetadata(orders) names cursorField "modified_at", which is not a column',
    fails: ['orders > metadata is valid and matches the schema'],
    message: /cursorField "modified_at" is not a field of the schema/,
    wrap: (s) =>
      delegate(s, {
        readTableMetadata: async (t, o) => (t === 'orders' ? { ...(await s.readTableMetadata(t, o)), cursorField: 'modified_at' } : s.readTableMetadata(t, o)),
      }),
  },
  {
    name: 'metadata-disagrees-with-schema',
    builtFor: 'metadata is valid and matches the schema',
    description: "readTableMetadata(orders) says partitionBy note; the schema's metadata does not",
    fails: ['orders > metadata is valid and matches the schema'],
    message: /differs from the schema's lakeflow metadata/,
    wrap: (s) =>
      delegate(s, {
        readTableMetadata: async (t, o) => (t === 'orders' ? { ...(await s.readTableMetadata(t, o)), partitionBy: 'note' } : s.readTableMetadata(t, o)),
      }),
  },
  {
    name: 'key-derivation-false',
    builtFor: 'rows of one key agree on keyDerivedFrom',
    description: 'readTableMetadata(orders) claims keyDerivedFrom updated_at (granularity 1), which the update of o2 changes',
    fails: ['orders > rows of one key agree on keyDerivedFrom'],
    message: /key \["o2"\] has rows with updated_at \d+ and \d+, in different units of keyDerivedFrom.granularity 1/,
    wrap: (s) =>
      delegate(s, {
        readTableMetadata: async (t, o) => (t === 'orders' ? { ...(await s.readTableMetadata(t, o)), keyDerivedFrom: { column: 'updated_at', granularity: 1 } } : s.readTableMetadata(t, o)),
      }),
  },
  {
    name: 'key-derivation-not-a-number-column',
    builtFor: 'metadata is valid and matches the schema',
    description: 'readTableMetadata(orders) names keyDerivedFrom note, a Utf8 column',
    fails: ['orders > metadata is valid and matches the schema', 'orders > rows of one key agree on keyDerivedFrom'],
    message: /keyDerivedFrom.column "note" must be an integer or timestamp column/,
    wrap: (s) =>
      delegate(s, {
        readTableMetadata: async (t, o) => (t === 'orders' ? { ...(await s.readTableMetadata(t, o)), keyDerivedFrom: { column: 'note', granularity: 1 } } : s.readTableMetadata(t, o)),
      }),
  },
  {
    name: 'column-renamed',
    builtFor: 'schema matches the committed snapshot',
    description: 'customers.email is renamed e_mail (schema and batches agree, the snapshot does not)',
    fails: ['customers > schema matches the committed snapshot'],
    message: /- email removed; \+ e_mail added/,
    wrap: (s) => {
      const renamed = async (): Promise<Schema> => replaceField(await s.getSchema('customers'), 'email', new Field('e_mail', new Utf8(), true));
      return delegate(s, {
        getSchema: async (t, o) => (t === 'customers' ? renamed() : s.getSchema(t, o)),
        readTable: (t, c, o) => {
          const inner = s.readTable(t, c, o);
          if (t !== 'customers') return inner;
          const schema = renamed();
          return (async function* (): TableRead {
            const target = await schema;
            return yield* mapCall(inner, (b) => [rebuildBatch(b, target, (rows) => rows.map((r) => ({ ...r, e_mail: r.email })))]);
          })();
        },
      });
    },
  },
  {
    name: 'accepts-unknown-options',
    builtFor: 'bad table options throw a typed error on call',
    description: 'readTable silently drops table options it does not know',
    fails: every('bad table options throw a typed error on call'),
    message: /returned a generator instead of throwing when called/,
    wrap: (s) =>
      delegate(s, {
        readTable: (t, c, o) => {
          const known = Object.fromEntries(Object.entries(o?.tableOptions ?? {}).filter(([k]) => k === 'page_size'));
          return s.readTable(t, c, { ...o, tableOptions: known });
        },
      }),
  },
  {
    name: 'empty-upstream',
    builtFor: 'reads records',
    description: 'every read yields nothing (the Lakeflow simulator case): record checks must not pass vacuously',
    fails: [
      ...every('reads records'),
      ...every('batches match the schema'),
      ...every('non-nullable fields are non-null'),
      ...every('no all-null record'),
      ...every('every column is populated'),
      ...every('each full read is a subset of the next'),
      'orders > primary keys are non-null',
      'customers > primary keys are non-null',
      'orders > primary keys are unique',
      'customers > primary keys are unique',
      'orders > resumes from every cursor without loss or repeats',
      'clicks > resumes from every cursor without loss or repeats',
      'orders > no loss across triggers',
      'clicks > no loss across triggers',
      'orders > a full read returns exactly the keys upstream holds',
      'customers > a full read returns exactly the keys upstream holds',
      'customers > after addData the added keys appear',
    ],
    message: /the full read yielded no records/,
    wrap: (s) => delegate(s, { readTable: (t, c, o) => readsNothing(s, t, c, o) }),
  },
  {
    name: 'batch-drops-timezone',
    builtFor: 'batches match the schema',
    description: 'clicks batches declare `at` as Timestamp without the UTC zone getSchema declares',
    fails: ['clicks > batches match the schema'],
    message: /schema differs from getSchema: at: type Timestamp<MILLISECOND, UTC> → Timestamp<MILLISECOND>/,
    wrap: (s) =>
      forTable(s, 'clicks', (c, o) => {
        const inner = s.readTable('clicks', c, o);
        return mapCall(inner, (b) => [rebuildBatch(b, replaceField(b.schema, 'at', new Field('at', new Timestamp(TimeUnit.MILLISECOND), true)))]);
      }),
  },
  {
    name: 'null-in-non-nullable-field',
    builtFor: 'non-nullable fields are non-null',
    description: 'customer 101 has a null name, which the schema declares non-nullable',
    fails: ['customers > non-nullable fields are non-null'],
    message: /nulls in non-nullable fields: call 1 batch 1 name \(1 null\)/,
    wrap: (s) =>
      forTable(s, 'customers', (c, o) =>
        mapCall(s.readTable('customers', c, o), (b) => [rebuildBatch(b, b.schema, (rows) => rows.map((r) => (r.id === 101n ? { ...r, name: null } : r)))]),
      ),
  },
  {
    name: 'all-null-record',
    builtFor: 'no all-null record',
    description: 'a read of clicks from the start begins with a record whose every column is null',
    fails: ['clicks > no all-null record'],
    message: /record 1 of the full read has every column null/,
    wrap: (s) =>
      forTable(s, 'clicks', (c, o) =>
        mapCall(s.readTable('clicks', c, o), (b, i) => [i === 0 && isStartCursor(c) ? rebuildBatch(b, b.schema, (rows) => [{ at: null, url: null, referrer: null }, ...rows]) : b]),
      ),
  },
  {
    name: 'null-primary-key',
    builtFor: 'primary keys are non-null',
    description: 'order o3 comes with a null id',
    fails: ['orders > primary keys are non-null', 'orders > a full read returns exactly the keys upstream holds'],
    message: /null primary key values: record 2: id/,
    wrap: (s) =>
      forTable(s, 'orders', (c, o) => mapCall(s.readTable('orders', c, o), (b) => [rebuildBatch(b, b.schema, (rows) => rows.map((r) => (r.id === 'o3' ? { ...r, id: null } : r)))])),
  },
  {
    name: 'column-never-populated',
    builtFor: 'every column is populated',
    description: 'clicks.referrer is always null (a mapping that never fills it)',
    fails: ['clicks > every column is populated'],
    message: /no record populates referrer/,
    wrap: (s) => forTable(s, 'clicks', (c, o) => mapCall(s.readTable('clicks', c, o), (b) => [rebuildBatch(b, b.schema, (rows) => rows.map((r) => ({ ...r, referrer: null })))])),
  },
  {
    name: 'never-converges',
    builtFor: 'reads terminate',
    description: 'a caught-up orders read returns a new cursor (a poll counter) on every call',
    fails: ['orders > reads terminate'],
    message: /did not converge within 12 calls/,
    quirks: { pollCounter: true },
  },
  {
    name: 'records-with-unchanged-cursor',
    builtFor: 'no batches with an unchanged cursor',
    description: 'the converging orders call re-sends the previous batch with the unchanged cursor (Mixpanel engage, §3.9)',
    fails: ['orders > no batches with an unchanged cursor'],
    message: /SPARK-55416/,
    wrap: (s) => {
      let last: RecordBatch | undefined;
      return forTable(s, 'orders', (c, o) => {
        const inner = s.readTable('orders', c, o);
        return (async function* (): TableRead {
          let yielded = false;
          for (;;) {
            const step = await inner.next();
            if (step.done === true) {
              if (!yielded && last !== undefined && cursorsEqual(step.value, c)) yield last;
              return step.value;
            }
            yielded = true;
            last = step.value;
            yield step.value;
          }
        })();
      });
    },
  },
  {
    name: 'empty-object-is-not-start',
    builtFor: 'null and {} start the same read',
    description: 'incremental tables treat {} as "already caught up" instead of "from the start"',
    fails: ['orders > null and {} start the same read', 'clicks > null and {} start the same read'],
    message: /a read from \{\} differs from a read from null/,
    wrap: (s) =>
      delegate(s, {
        readTable: (t, c, o) => (t !== 'customers' && c !== null && isStartCursor(c) ? readsNothing(s, t, c, o) : s.readTable(t, c, o)),
      }),
  },
  {
    name: 'cursor-key-order-changes',
    builtFor: 'cursors survive a JSON round trip',
    description: 'an unchanged orders cursor comes back rebuilt with its keys sorted (another JSON text)',
    fails: ['orders > cursors survive a JSON round trip'],
    message: /returned its input cursor with its keys in another order/,
    wrap: (s) =>
      forTable(s, 'orders', (c, o) => mapCall(s.readTable('orders', c, o), undefined, (out) => (!isStartCursor(c) && keyText(out) === keyText(c) ? sortKeys(out) : out))),
  },
  {
    name: 'date-in-cursor',
    builtFor: 'cursors survive a JSON round trip',
    description: 'the orders cursor carries a Date, which comes back from JSON as a string',
    fails: ['orders > cursors survive a JSON round trip'],
    message: /holds a Date at \$\.checkedAt/,
    wrap: (s) =>
      forTable(s, 'orders', (c, o) => {
        let input = c;
        if (c !== null && typeof c === 'object' && 'checkedAt' in c) {
          const { checkedAt, ...rest } = c as Record<string, unknown>;
          (checkedAt as Date).getTime(); // a string (from JSON) has no getTime: this throws
          input = rest as Cursor;
        }
        return mapCall(s.readTable('orders', input, o), undefined, (out) =>
          out !== null && typeof out === 'object' && !Array.isArray(out) ? ({ ...out, checkedAt: new Date(0) } as unknown as Cursor) : out,
        );
      }),
  },
  {
    name: 'undefined-in-cursor',
    builtFor: 'cursors survive a JSON round trip',
    description: 'the orders cursor carries a key whose value is undefined (JSON drops it)',
    fails: ['orders > cursors survive a JSON round trip'],
    message: /holds undefined at \$\.hint/,
    wrap: (s) =>
      forTable(s, 'orders', (c, o) =>
        mapCall(s.readTable('orders', c, o), undefined, (out) =>
          out !== null && typeof out === 'object' && !Array.isArray(out) ? ({ ...out, hint: undefined } as unknown as Cursor) : out,
        ),
      ),
  },
  {
    name: 'duplicate-key-in-snapshot',
    builtFor: 'primary keys are unique',
    description: 'the customers snapshot yields its first batch twice',
    fails: ['customers > primary keys are unique'],
    message: /appears twice in call 1/,
    wrap: (s) => forTable(s, 'customers', (c, o) => mapCall(s.readTable('customers', c, o), (b, i) => (i === 0 ? [b, b] : [b]))),
  },
  {
    name: 'resends-last-row',
    builtFor: 'primary keys are unique',
    description: 'each orders call re-sends the last row of the previous call with the same version',
    fails: ['orders > primary keys are unique'],
    message: /key \["o4"\] reappears in call 2 with version \["4n"\], not newer than \["4n"\]/,
    quirks: { resendLastRow: true },
  },
  {
    name: 'resume-loses-a-row',
    builtFor: 'resumes from every cursor without loss or repeats',
    description: 'a new source resuming an orders window skips the next row',
    fails: ['orders > resumes from every cursor without loss or repeats'],
    message: /loses keys the uninterrupted read yielded after it/,
    quirks: { resumeSkipsRow: true },
  },
  {
    name: 'resume-moves-backwards',
    builtFor: 'resumes from every cursor without loss or repeats',
    description: 'a new source resuming an orders window backs up one row (the cursor moves backwards)',
    fails: ['orders > resumes from every cursor without loss or repeats'],
    message: /yields key \["o\d"\] again/,
    quirks: { resumeRepeatsRow: true },
  },
  {
    name: 'future-cursor-yields-data',
    builtFor: 'a future cursor yields nothing',
    description: 'an orders watermark beyond the run start is treated as corrupt and reset to 0',
    fails: ['orders > a future cursor yields nothing'],
    message: /yielded \d+ records/,
    quirks: { futureResets: true },
  },
  {
    name: 'loss-across-triggers',
    builtFor: 'no loss across triggers',
    description: 'a finished orders window moves the watermark past its end (Mixpanel events, §3.10-1)',
    fails: ['orders > no loss across triggers'],
    message: /lost between triggers/,
    quirks: { watermarkOvershoot: true },
  },
  {
    name: 'later-read-drops-rows',
    builtFor: 'each full read is a subset of the next',
    description: 'the customers snapshot keeps only the 5 newest customers',
    fails: ['customers > each full read is a subset of the next'],
    message: /a later full read lacks keys an earlier full read had: \["100n"\]/,
    wrap: (s) =>
      forTable(s, 'customers', (c, o) => {
        const inner = s.readTable('customers', c, o);
        return (async function* (): TableRead {
          const batches: RecordBatch[] = [];
          for (;;) {
            const step = await inner.next();
            if (step.done === true) {
              const total = batches.reduce((n, b) => n + b.numRows, 0);
              let drop = Math.max(0, total - 5);
              for (const b of batches) {
                const take = b.numRows - Math.min(drop, b.numRows);
                drop -= b.numRows - take;
                if (take > 0) yield rebuildBatch(b, b.schema, (rows) => rows.slice(b.numRows - take));
              }
              return step.value;
            }
            batches.push(step.value);
          }
        })();
      }),
  },
  {
    name: 'drops-a-snapshot-row',
    builtFor: 'a full read returns exactly the keys upstream holds',
    description: 'every customers snapshot skips its first row (the issue-18 mutant: a snapshot table that always drops rows); each read agrees with the next, so only the truth sees it',
    fails: ['customers > a full read returns exactly the keys upstream holds'],
    message: /missing 1 of the 5 keys upstream holds: \["100n"\]/,
    wrap: (s) => forTable(s, 'customers', (c, o) => mapCall(s.readTable('customers', c, o), (b, i) => [i === 0 ? rebuildBatch(b, b.schema, (rows) => rows.slice(1)) : b])),
  },
  {
    name: 'ignores-added-rows',
    builtFor: 'after addData the added keys appear',
    description: 'every customers snapshot returns the rows of the first read: correct at first, blind to rows added later',
    fails: ['customers > after addData the added keys appear'],
    message: /after addData a fresh full read lacks 1 of the 1 keys added upstream: \["10\dn"\]/,
    quirks: { staleSnapshot: true },
  },
  {
    name: 'secret-in-log',
    builtFor: 'no secret leaks',
    description: 'every read logs its Authorization header',
    fails: every('no secret leaks'),
    message: /secret #1 in log line 1 of the full read/,
    wrap: (s, env) =>
      delegate(s, {
        readTable: (t, c, o) => {
          (o?.logger ?? env.logger).debug('request', { authorization: `Basic ${Buffer.from(`${FIXTURE_SECRET}:`).toString('base64')}` });
          return s.readTable(t, c, o);
        },
      }),
  },
  {
    name: 'secret-in-error',
    builtFor: 'no secret leaks',
    description: 'the unknown-table error quotes the API key',
    fails: every('no secret leaks'),
    message: /secret #1 in the error of getSchema\(unknown table\)/,
    wrap: (s) => {
      const guard = (t: string): void => {
        if (!isFixtureTable(t)) throw unknownTable(t, ` for key ${FIXTURE_SECRET}`);
      };
      return delegate(s, {
        getSchema: async (t, o) => (guard(t), s.getSchema(t, o)),
        readTableMetadata: async (t, o) => (guard(t), s.readTableMetadata(t, o)),
        readTable: (t, c, o) => (guard(t), s.readTable(t, c, o)),
      });
    },
  },
  {
    name: 'secret-in-cursor',
    builtFor: 'no secret leaks',
    description: 'the orders cursor carries the API key',
    fails: ['orders > no secret leaks'],
    message: /secret #1 in the cursor of call 1/,
    wrap: (s) =>
      forTable(s, 'orders', (c, o) =>
        mapCall(s.readTable('orders', c, o), undefined, (out) => (out !== null && typeof out === 'object' && !Array.isArray(out) ? { ...out, auth: FIXTURE_SECRET } : out)),
      ),
  },
];
