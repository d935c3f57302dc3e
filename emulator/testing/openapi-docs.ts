/**
 * Where the emulator's contract tests find Mixpanel's published OpenAPI documents. They carry no licence to
 * redistribute, so they are not in the repository: a test reads them from `MIXPANEL_OPENAPI_DIR`, or from
 * `../shared/reference/mixpanel-openapi/` beside the clone, and is skipped with a reason when neither exists.
 * `MIXPANEL_OPENAPI_REQUIRED=1` (set by `.ci/run` where the documents are beside the clone) turns that skip into
 * a failure, so a lookup that breaks cannot pass CI as a skip. Pure apart from `existsSync`.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export const OPENAPI_DIR_ENV = 'MIXPANEL_OPENAPI_DIR';
export const OPENAPI_REQUIRED_ENV = 'MIXPANEL_OPENAPI_REQUIRED';
export const OPENAPI_FILES = ['export', 'query', 'ingestion', 'identity'] as const;
export type OpenApiName = (typeof OPENAPI_FILES)[number];

/** The title of a skipped suite, and the start of every "not found" message. */
export const OPENAPI_NOT_FOUND = `Mixpanel OpenAPI documents not found (set ${OPENAPI_DIR_ENV})`;

export type OpenApiLookup =
  /** Every document is there. `from` says which rule found them. */
  | { readonly kind: 'found'; readonly dir: string; readonly from: 'env' | 'shared' }
  /** Not there and not required: the tests are skipped with `reason`. */
  | { readonly kind: 'skip'; readonly reason: string }
  /** Required, named by the environment, or only partly there: the tests fail with `reason`. */
  | { readonly kind: 'fail'; readonly reason: string };

export interface OpenApiLookupOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The repository clone; `../shared/reference/mixpanel-openapi` is looked up next to it. */
  readonly repoRoot: string;
}

export function sharedOpenApiDir(repoRoot: string): string {
  return resolve(repoRoot, '..', 'shared', 'reference', 'mixpanel-openapi');
}

export function openApiPath(dir: string, name: OpenApiName): string {
  return join(dir, `${name}.openapi.yaml`);
}

function missingFiles(dir: string): string[] {
  return OPENAPI_FILES.filter((name) => !existsSync(openApiPath(dir, name))).map((name) => `${name}.openapi.yaml`);
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** Find the documents: `MIXPANEL_OPENAPI_DIR` first (it must hold all four), then `../shared` beside the clone. */
export function locateOpenApiDocs(options: OpenApiLookupOptions): OpenApiLookup {
  const named = options.env[OPENAPI_DIR_ENV]?.trim();
  const want = OPENAPI_FILES.map((f) => `${f}.openapi.yaml`).join(', ');
  if (named !== undefined && named !== '') {
    const dir = isAbsolute(named) ? named : resolve(options.repoRoot, named);
    const missing = missingFiles(dir);
    if (missing.length === 0) return { kind: 'found', dir, from: 'env' };
    return { kind: 'fail', reason: `${OPENAPI_DIR_ENV}=${named}: ${missing.join(', ')} missing in ${dir}; point ${OPENAPI_DIR_ENV} at a folder holding ${want}, or unset it` };
  }
  const shared = sharedOpenApiDir(options.repoRoot);
  if (existsSync(shared)) {
    const missing = missingFiles(shared);
    if (missing.length === 0) return { kind: 'found', dir: shared, from: 'shared' };
    return { kind: 'fail', reason: `${shared} exists but lacks ${missing.join(', ')}; restore them, or set ${OPENAPI_DIR_ENV} to a folder holding ${want}` };
  }
  const where = `neither ${OPENAPI_DIR_ENV} is set nor ${shared} exists`;
  if (isOn(options.env[OPENAPI_REQUIRED_ENV])) {
    return { kind: 'fail', reason: `${OPENAPI_NOT_FOUND}: ${where}, and ${OPENAPI_REQUIRED_ENV} is set (CI sets it where the documents are beside the clone, so the lookup broke)` };
  }
  return { kind: 'skip', reason: `${OPENAPI_NOT_FOUND}: ${where}` };
}
