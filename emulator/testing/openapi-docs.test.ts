/** Where the contract tests find Mixpanel's OpenAPI documents, and when their absence is a skip or a failure. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPENAPI_FILES, OPENAPI_NOT_FOUND, locateOpenApiDocs, openApiPath, sharedOpenApiDir } from './openapi-docs.js';

let root: string;
let repo: string;

async function writeDocs(dir: string, names: readonly string[] = OPENAPI_FILES): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of names) await writeFile(join(dir, `${name}.openapi.yaml`), 'openapi: 3.0.3\n');
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'openapi-docs-'));
  repo = join(root, 'repo');
  await mkdir(repo);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('locateOpenApiDocs', () => {
  it('finds ../shared/reference/mixpanel-openapi beside the clone', async () => {
    const shared = join(root, 'shared', 'reference', 'mixpanel-openapi');
    await writeDocs(shared);
    expect(sharedOpenApiDir(repo)).toBe(shared);
    expect(locateOpenApiDocs({ env: {}, repoRoot: repo })).toEqual({ kind: 'found', dir: shared, from: 'shared' });
    expect(openApiPath(shared, 'query')).toBe(join(shared, 'query.openapi.yaml'));
  });

  it('prefers MIXPANEL_OPENAPI_DIR (absolute, or relative to the clone) over ../shared', async () => {
    await writeDocs(join(root, 'shared', 'reference', 'mixpanel-openapi'));
    const docs = join(repo, 'docs-copy');
    await writeDocs(docs);
    expect(locateOpenApiDocs({ env: { MIXPANEL_OPENAPI_DIR: docs }, repoRoot: repo })).toEqual({ kind: 'found', dir: docs, from: 'env' });
    expect(locateOpenApiDocs({ env: { MIXPANEL_OPENAPI_DIR: 'docs-copy' }, repoRoot: repo })).toEqual({ kind: 'found', dir: docs, from: 'env' });
  });

  it('skips with the reason when neither exists', () => {
    const lookup = locateOpenApiDocs({ env: { MIXPANEL_OPENAPI_DIR: '  ' }, repoRoot: repo });
    expect(lookup.kind).toBe('skip');
    expect(lookup.kind === 'skip' ? lookup.reason : '').toBe(`${OPENAPI_NOT_FOUND}: neither MIXPANEL_OPENAPI_DIR is set nor ${sharedOpenApiDir(repo)} exists`);
  });

  it('fails instead of skipping when MIXPANEL_OPENAPI_REQUIRED is set (CI)', () => {
    for (const value of ['1', 'true']) {
      const lookup = locateOpenApiDocs({ env: { MIXPANEL_OPENAPI_REQUIRED: value }, repoRoot: repo });
      expect(lookup.kind).toBe('fail');
      expect(lookup.kind === 'fail' ? lookup.reason : '').toMatch(/^Mixpanel OpenAPI documents not found \(set MIXPANEL_OPENAPI_DIR\): .*MIXPANEL_OPENAPI_REQUIRED is set/);
    }
    expect(locateOpenApiDocs({ env: { MIXPANEL_OPENAPI_REQUIRED: '0' }, repoRoot: repo }).kind).toBe('skip');
  });

  it('fails, naming the files, when MIXPANEL_OPENAPI_DIR or ../shared lacks a document', async () => {
    const docs = join(root, 'partial');
    await writeDocs(docs, ['export', 'query']);
    const named = locateOpenApiDocs({ env: { MIXPANEL_OPENAPI_DIR: docs }, repoRoot: repo });
    expect(named).toEqual({ kind: 'fail', reason: expect.stringMatching(/^MIXPANEL_OPENAPI_DIR=.*partial: ingestion\.openapi\.yaml, identity\.openapi\.yaml missing in /) });
    await writeDocs(join(root, 'shared', 'reference', 'mixpanel-openapi'), ['export', 'query', 'identity']);
    const shared = locateOpenApiDocs({ env: {}, repoRoot: repo });
    expect(shared).toEqual({ kind: 'fail', reason: expect.stringMatching(/mixpanel-openapi exists but lacks ingestion\.openapi\.yaml; restore them, or set MIXPANEL_OPENAPI_DIR/) });
  });
});
