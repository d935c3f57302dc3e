import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DataError, emptyReadStats } from '../../../connector-spec/index.js';
import { parseJsonLossless } from '../json.js';
import type { MixpanelClient } from '../client-types.js';
import { EngagePageReader } from './engage-page-reader.js';
import type { EngagePage } from './engage-response.js';
import { scanEngage } from './scan.js';
import { serviceAccountConfig, testClient } from './testing-setup.js';

/** The page as `JSON.parse` of the whole text gives it (the reference the reader must equal). */
function reference(text: string): { results: { distinctId: string; properties: unknown }[]; sessionId: unknown; total: unknown } {
  const body = parseJsonLossless(text.replace(/^\uFEFF/, '')) as { results?: { $distinct_id: unknown; $properties?: unknown }[] | null; session_id?: unknown; total?: unknown };
  return {
    results: (body.results ?? []).map((r) => ({ distinctId: typeof r.$distinct_id === 'bigint' ? r.$distinct_id.toString() : String(r.$distinct_id), properties: r.$properties ?? {} })),
    sessionId: body.session_id,
    total: body.total,
  };
}

/** Read `bytes` fed in chunks whose sizes come from `sizes` (cycled). */
function read(bytes: Uint8Array, sizes: readonly number[]): EngagePage {
  const reader = new EngagePageReader('engage');
  let k = 0;
  for (let off = 0; off < bytes.length; ) {
    const size = Math.max(1, sizes[k++ % sizes.length]!);
    reader.write(bytes.subarray(off, off + size));
    off += size;
  }
  return reader.end();
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** Values with what a splitter trips on: quotes after runs of backslashes, brackets and commas in strings, multi-byte UTF-8. */
function hostileValue(rand: () => number, depth: number): unknown {
  const pick = rand();
  if (depth > 2 || pick < 0.5) {
    const atoms: unknown[] = ['a"b', 'c\\', '\\\\"', '\\\\\\', '{', '}]', '[,:]', 'Jörg Zoë', '東京', '🙂 emoji', '\u2028', '', 'x'.repeat(40), 0, -1.5, 1e21, true, false, null, 9007199254740993n];
    return atoms[Math.floor(rand() * atoms.length)];
  }
  if (pick < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => hostileValue(rand, depth + 1));
  const object: Record<string, unknown> = {};
  for (let k = Math.floor(rand() * 4); k > 0; k--) object[`k${k}"{\\`] = hostileValue(rand, depth + 1);
  return object;
}

/** JSON text with bigints written as their digits (the lossless form). */
function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v.toString()}@@` : v), indent).replace(/"@@(\d+)@@"/g, '$1');
}

const CHUNKINGS: readonly (readonly number[])[] = [[1], [2], [3], [7, 1, 13], [4096], [1 << 20]];

describe('EngagePageReader', () => {
  it('gives what JSON.parse of the whole text gives, for hostile pages cut into chunks of every size', () => {
    const rand = seeded(11);
    for (let n = 0; n < 30; n++) {
      const results = Array.from({ length: Math.floor(rand() * 5) }, (_, i) => ({
        $distinct_id: i % 3 === 2 ? 1234567890123456789n + BigInt(i) : `id-"${i}"\\`,
        $properties: { $last_seen: '2026-01-02T03:04:05', nested: hostileValue(rand, 0), 'a"}]': hostileValue(rand, 0) },
      }));
      const page = { page: 0, page_size: 1000, session_id: 'a"b\\', status: 'ok', total: results.length, results };
      for (const text of [jsonText(page), jsonText(page, 2), `\uFEFF \n${jsonText(page, 1)}\n`]) {
        const bytes = Buffer.from(text);
        const want = reference(text);
        for (const sizes of CHUNKINGS) {
          const got = read(bytes, sizes);
          expect(got.results, `page ${n}, chunks ${sizes.join('/')}`).toEqual(want.results);
          expect(got.sessionId).toBe(want.sessionId);
          expect(got.total).toBe(want.total);
          expect(got.pageSize).toBe(1000);
        }
      }
    }
  });

  it('a page cut anywhere is not JSON (SyntaxError, retried by the client)', () => {
    const text = '{"page":0,"results":[{"$distinct_id":"a","$properties":{"s":"x,\\"}]","n":[1,{"b":"ö"}]}},{"$distinct_id":"b"}],"session_id":"s","total":2}';
    expect(read(Buffer.from(text), [5]).results).toHaveLength(2);
    const bytes = Buffer.from(text);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => read(bytes.subarray(0, cut), [3]), `cut at ${cut}`).toThrow(SyntaxError);
    }
  });

  it('rejects damaged pages as not JSON: separators, brackets, items, text after the page', () => {
    const damaged = [
      '<html>502 Bad Gateway</html>',
      '{"results":[{"$distinct_id":"a"} {"$distinct_id":"b"}]}',
      '{"results":[,{"$distinct_id":"a"}]}',
      '{"results":[{"$distinct_id":"a"},]}',
      '{"results":[{"$distinct_id":"a"},,{"$distinct_id":"b"}]}',
      '{"results":[{"$distinct_id":"a","x":[1,2}]]}',
      '{"results":[tru]}',
      '{"total":12x,"results":[]}',
      '{"results" [{"$distinct_id":"a"}]}',
      '{"results":[]} trailing',
      '{"results":[]}}',
    ];
    for (const text of damaged) expect(() => read(Buffer.from(text), [1 << 20]), text).toThrow(SyntaxError);
  });

  it('rejects answers that are JSON but not an Engage page (DataError, not retried)', () => {
    const page = (text: string) => () => read(Buffer.from(text), [4]);
    expect(page('[]')).toThrow(DataError);
    expect(page('{"status":"error","results":[]}')).toThrow(/status "error"/);
    expect(page('{"results":{"$distinct_id":"a"}}')).toThrow(/results is not an array/);
    expect(page('{"results":[{"$properties":{}}]}')).toThrow(/\$distinct_id/);
    expect(page('{"results":[7]}')).toThrow(/not an object/);
    expect(page('{"results":["x"]}')).toThrow(/not an object/);
    expect(page('{"results":[{"$distinct_id":"b","$properties":[]}]}')).toThrow(/\$properties is not an object/);
  });

  it('counts members as JSON.parse does: the last `results` wins, an escaped name is the same name', () => {
    const ids = (text: string) => read(Buffer.from(text), [2]).results.map((r) => r.distinctId);
    expect(ids('{"results":[{"$distinct_id":"old"}],"results":[{"$distinct_id":"new"}]}')).toEqual(['new']);
    expect(ids('{"results":[{"$distinct_id":"old"}],"results":null}')).toEqual([]);
    expect(ids('{"res\\u0075lts":[{"$distinct_id":"esc"}]}')).toEqual(['esc']);
    expect(ids('{"other":[{"$distinct_id":"no"}],"results":[]}')).toEqual([]);
    expect(ids('{"status":"ok"}')).toEqual([]);
  });
});

describe('an Engage scan against a server that chunks and paces its own way', () => {
  let server: Server | undefined;
  let client: MixpanelClient | undefined;
  afterEach(async () => {
    await client?.close();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    server = undefined;
  });

  it('reads pages sent in 1–977-byte chunks with pauses, and retries a page whose body is cut short', async () => {
    expect.hasAssertions();
    const PROFILES = 2_345;
    const pageText = (page: number): string => {
      const items = [];
      for (let i = page * 1000; i < Math.min(PROFILES, (page + 1) * 1000); i++) {
        items.push(`{"$distinct_id": ${i % 2 === 0 ? `"user-${i}"` : `${10n ** 18n + BigInt(i)}`}, "$properties": {"$name": "Zoë \\"${i}\\" 東京🙂", "$last_seen": "2026-01-02T03:04:05", "tags": ["a,b", "]}"]}}`);
      }
      return `{"page": ${page}, "page_size": 1000, "session_id": "s-1", "status": "ok", "total": ${PROFILES},\n "results": [\n${items.join(',\n')}\n]}`;
    };
    let requests = 0;
    server = createServer((req, res) => {
      let form = '';
      req.on('data', (d: Buffer) => (form += d.toString()));
      req.on('end', () => {
        requests++;
        const page = Number(new URLSearchParams(form).get('page') ?? '0');
        let body = Buffer.from(pageText(page));
        // The second request (page 1) gets a body that is cut short but well framed: the client must retry it.
        if (requests === 2) body = body.subarray(0, Math.floor(body.length / 2));
        res.writeHead(200, { 'content-type': 'application/json' });
        const sizes = [1, 977, 3, 64, 500, 2];
        let off = 0;
        let k = 0;
        const next = (): void => {
          if (off >= body.length) {
            res.end();
            return;
          }
          const size = sizes[k++ % sizes.length]!;
          res.write(body.subarray(off, off + size));
          off += size;
          if (k % 50 === 0) setTimeout(next, 1);
          else next();
        };
        next();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    client = testClient(serviceAccountConfig({ url: `http://127.0.0.1:${port}`, project: { id: 1, serviceAccount: { username: 'u', secret: 's' } } }));
    const stats = emptyReadStats();
    const scan = scanEngage({ table: 'engage', client, params: {}, maxRestarts: 0, stats, signal: undefined });
    const ids: string[] = [];
    const names = new Set<unknown>();
    let step = await scan.next();
    while (!step.done) {
      for (const record of step.value) {
        ids.push(record.distinctId);
        names.add(record.properties.$name);
      }
      step = await scan.next();
    }
    expect(step.value).toEqual({ pages: 3, restarts: 0, profiles: PROFILES });
    expect(ids).toHaveLength(PROFILES);
    expect(ids[1]).toBe('1000000000000000001');
    expect(new Set(ids).size).toBe(PROFILES);
    expect(names.has('Zoë "7" 東京🙂')).toBe(true);
    expect(stats.retries).toBe(1);
    expect(requests).toBe(4);
  });
});
