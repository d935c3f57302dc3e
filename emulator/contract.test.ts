/**
 * Contract tests: the emulator's responses validated against Mixpanel's published OpenAPI documents with
 * swagger-parser (dereferencing) and openapi-response-validator (ajv). Known spec errors are patched explicitly
 * below, each with a test proving the unpatched spec would reject what real Mixpanel sends.
 *
 * The documents carry no licence to redistribute, so they are not in the repository: they are read from
 * MIXPANEL_OPENAPI_DIR or from ../shared/reference/mixpanel-openapi/ beside the clone (testing/openapi-docs.ts).
 * Without them every test here is skipped, the suite's title saying why; with MIXPANEL_OPENAPI_REQUIRED=1 (CI,
 * where the documents are beside the clone) they fail instead.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import validatorModule from 'openapi-response-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startEmulator } from './index.js';
import type { Emulator } from './types.js';
import { TEST_NOW, getText, isoDate, postForm, secretAuth } from './test-helpers.js';
import { OPENAPI_FILES, locateOpenApiDocs, openApiPath, type OpenApiName } from './testing/openapi-docs.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lookup = locateOpenApiDocs({ env: process.env, repoRoot: REPO_ROOT });
const TITLE =
  lookup.kind === 'skip'
    ? `skipped: ${lookup.reason}`
    : lookup.kind === 'found'
      ? `contract (documents from ${lookup.from === 'env' ? 'MIXPANEL_OPENAPI_DIR' : '../shared'})`
      : 'contract (documents missing: every test fails)';
// The default reporter does not print a skipped suite's title: say why on stderr, which it does print.
if (lookup.kind === 'skip') console.warn(`emulator/contract.test.ts: ${lookup.reason}`);

type SpecName = OpenApiName;

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components?: Record<string, unknown>;
}

// CommonJS with `exports.default`: Node's ESM interop hands over the module object, vitest's the class.
type ValidatorClass = typeof validatorModule.default;
const OpenAPIResponseValidator: ValidatorClass = typeof validatorModule === 'function' ? (validatorModule as unknown as ValidatorClass) : validatorModule.default;

const docs = new Map<SpecName, OpenApiDoc>();
let em: Emulator;

type Patch = (responses: Record<string, unknown>) => void;

/** Validation errors of `body` for `status` of `method path` in `spec` (undefined = valid). */
function validate(spec: SpecName, path: string, method: string, status: number, body: unknown, patch?: Patch): unknown {
  const doc = docs.get(spec);
  const op = doc?.paths[path]?.[method];
  if (op === undefined) throw new Error(`${spec}.openapi.yaml has no ${method.toUpperCase()} ${path}`);
  const responses = structuredClone(op.responses);
  patch?.(responses);
  const validator = new OpenAPIResponseValidator({ responses: responses as never, components: structuredClone(doc?.components ?? {}) as never });
  return validator.validateResponse(status, body);
}

function expectValid(spec: SpecName, path: string, method: string, status: number, body: unknown, patch?: Patch): void {
  expect(validate(spec, path, method, status, body, patch)).toBeUndefined();
}

/** Spec bug: engage types `$distinct_id` as integer; Mixpanel sends strings (see mixpanel-api-notes §4.2). */
const distinctIdIsString: Patch = (responses) => {
  const r = responses['200'] as { content: Record<string, { schema: { properties: { results: { items: { properties: Record<string, { type: string }> } } } } }> };
  const item = r.content['application/json']?.schema.properties.results.items.properties;
  if (item?.['$distinct_id'] === undefined) throw new Error('engage schema changed: $distinct_id not found');
  item['$distinct_id'].type = 'string';
};

const auth = (): Record<string, string> => ({ authorization: secretAuth(em.project) });

describe.skipIf(lookup.kind === 'skip')(TITLE, () => {
  beforeAll(async () => {
    if (lookup.kind !== 'found') throw new Error(lookup.reason);
    for (const f of OPENAPI_FILES) docs.set(f, (await SwaggerParser.dereference(openApiPath(lookup.dir, f))) as unknown as OpenApiDoc);
    em = await startEmulator({ now: () => TEST_NOW, eventsPerDay: 500, days: 2, profiles: 40, cohorts: 3, limits: NO_RATE_LIMITS });
  });

  afterAll(async () => {
    await em?.close();
  });

  describe('contract: export', () => {
    it('200 JSONL body', async () => {
      const r = await getText(`${em.url}/api/2.0/export?from_date=${isoDate(TEST_NOW - 86_400_000)}&to_date=${isoDate(TEST_NOW)}`, auth());
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      expectValid('export', '/export', 'get', 200, r.text);
      const lines = r.text.split('\n');
      expect(lines.at(-1)).toBe('');
      for (const l of lines.slice(0, -1)) expect(Object.keys(JSON.parse(l) as object)).toEqual(['event', 'properties']);
    });
  });

  describe('contract: query API', () => {
    it('engage 200 (with the $distinct_id patch, which the unpatched spec proves necessary)', async () => {
      const r = await postForm(`${em.url}/api/query/engage`, { page_size: '5' }, auth());
      const body = JSON.parse(r.text) as unknown;
      expectValid('query', '/engage', 'post', 200, body, distinctIdIsString);
      expect(validate('query', '/engage', 'post', 200, body)).toBeDefined();
    });

    it('cohorts/list 200, and a wrong body is rejected (the validator is live)', async () => {
      const r = await getText(`${em.url}/api/query/cohorts/list`, auth());
      const body = JSON.parse(r.text) as Record<string, unknown>[];
      expect(body.length).toBe(3);
      expectValid('query', '/cohorts/list', 'post', 200, body);
      expect(validate('query', '/cohorts/list', 'post', 200, [{ ...body[0], is_visible: true }])).toBeDefined();
    });

    it('funnels/list 200 and funnels 200', async () => {
      const list = JSON.parse((await getText(`${em.url}/api/query/funnels/list`, auth())).text) as { funnel_id: number }[];
      expectValid('query', '/funnels/list', 'get', 200, list);
      const funnel = JSON.parse((await getText(`${em.url}/api/query/funnels?funnel_id=${list[0]?.funnel_id}&from_date=2024-06-01&to_date=2024-06-03`, auth())).text) as unknown;
      expectValid('query', '/funnels', 'get', 200, funnel);
    });
  });

  describe('contract: ingestion', () => {
    const ev = { event: 'Contract', properties: { time: TEST_NOW - 1000, distinct_id: 'c', $insert_id: 'contract-1' } };
    const importUrl = (): string => `${em.url}/import?strict=1&project_id=${em.project.id}`;
    const post = (body: string, headers: Record<string, string> = auth()): Promise<Response> => fetch(importUrl(), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });

    it('import 200 / 400 / 401 / 413 / 429 (ingestion and identity specs)', async () => {
      const ok = await post(JSON.stringify([ev]));
      const okBody = (await ok.json()) as unknown;
      expect(ok.status).toBe(200);
      expectValid('ingestion', '/import', 'post', 200, okBody);
      expectValid('identity', '/import', 'post', 200, okBody);

      const bad = await post(JSON.stringify([{ event: 'x', properties: { time: 1, distinct_id: 'c', $insert_id: 'bad-1' } }]));
      expect(bad.status).toBe(400);
      const badBody = (await bad.json()) as unknown;
      expectValid('ingestion', '/import', 'post', 400, badBody);
      expectValid('identity', '/import', 'post', 400, badBody);

      const unauth = await post(JSON.stringify([ev]), { authorization: `Basic ${Buffer.from('nope:').toString('base64')}` });
      expect(unauth.status).toBe(401);
      expectValid('ingestion', '/import', 'post', 401, (await unauth.json()) as unknown);

      const big = await post(JSON.stringify([{ ...ev, properties: { ...ev.properties, blob: 'x'.repeat(10_500_000) } }]));
      expect(big.status).toBe(413);
      expectValid('ingestion', '/import', 'post', 413, (await big.json()) as unknown);

      em.faults.status('import', 429);
      const limited = await post(JSON.stringify([ev]));
      expect(limited.status).toBe(429);
      const limitedBody = (await limited.json()) as unknown;
      expectValid('ingestion', '/import', 'post', 429, limitedBody);
      expect(limitedBody).toEqual({ code: 429, error: 'Project exceeded rate limits. Please retry the request with exponential backoff.', status: 'Too Many Requests' });
    });

    it('track, engage and groups answer the Received schema (1/0)', async () => {
      const token = em.project.token;
      const track = await postForm(`${em.url}/track`, { data: JSON.stringify([{ event: 'T', properties: { token, time: TEST_NOW } }]) });
      expectValid('ingestion', '/track', 'post', 200, Number(track.text));
      expectValid('identity', '/track#create-identity', 'post', 200, Number(track.text));
      const invalid = await postForm(`${em.url}/track`, { data: JSON.stringify([{ properties: { token } }]) });
      expect(invalid.text).toBe('0');
      expectValid('ingestion', '/track', 'post', 200, Number(invalid.text));
      const ops: [string, unknown][] = [
        ['/engage#profile-set', { $set: { a: 1 } }],
        ['/engage#profile-set-once', { $set_once: { b: 1 } }],
        ['/engage#profile-numerical-add', { $add: { n: 1 } }],
        ['/engage#profile-union', { $union: { l: [1] } }],
        ['/engage#profile-list-append', { $append: { l: 2 } }],
        ['/engage#profile-list-remove', { $remove: { l: 1 } }],
        ['/engage#profile-unset', { $unset: ['a'] }],
        ['/engage#profile-delete', { $delete: null }],
      ];
      for (const [path, op] of ops) {
        const r = await postForm(`${em.url}/engage`, { data: JSON.stringify({ $token: token, $distinct_id: 'contract-user', ...(op as object) }) });
        expect(r.text).toBe('1');
        expectValid('ingestion', path, 'post', 200, Number(r.text));
      }
      const group = await postForm(`${em.url}/groups`, { data: JSON.stringify({ $token: token, $group_key: 'company', $group_id: 'g1', $set: { x: 1 } }) });
      expect(group.text).toBe('1');
      expectValid('ingestion', '/groups#group-set', 'post', 200, Number(group.text));
      expect(validate('ingestion', '/groups#group-set', 'post', 200, 2)).toBeDefined();
    });
  });
});
