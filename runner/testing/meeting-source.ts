/**
 * Two writers that meet: each wraps the fixture source so that its first call of every destination table waits
 * until the other run's first call of that table has started too (or 10 s passed). Both then read that call from
 * the same cursor, so their commits race for sure.
 */
import type { LakeflowSource, TableRead } from '../../connector-spec/index.js';
import { createMemorySource, makeDataset, type DatasetOptions } from './memory-source.js';

/** Both runs' first call of each table waits for the other's (or 10 s), so they read from the same cursor. */
export class FirstCallBarrier {
  readonly #waiting = new Map<string, { count: number; release: () => void; done: Promise<void> }>();
  met = 0;

  meet(table: string): Promise<void> {
    let entry = this.#waiting.get(table);
    if (!entry) {
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      entry = { count: 0, release, done };
      this.#waiting.set(table, entry);
      setTimeout(release, 10_000).unref();
    }
    if (++entry.count === 2) {
      this.met++;
      entry.release();
    }
    return entry.done;
  }
}

export function meetingSource(dataset: DatasetOptions, barrier: FirstCallBarrier): LakeflowSource {
  const inner = createMemorySource({ dataset: makeDataset(dataset) });
  const first = new Set<string>();
  return {
    ...inner,
    readTable(table, cursor, options): TableRead {
      const generator = inner.readTable(table, cursor, options);
      // One destination table per (source table, table options) in FIXTURE_SPEC: items and items_history differ in page_size.
      const key = `${table} ${JSON.stringify(options?.tableOptions ?? {})}`;
      const wait = first.has(key) ? undefined : barrier.meet(key);
      first.add(key);
      return (async function* () {
        if (wait) await wait;
        return yield* generator;
      })();
    },
  };
}

