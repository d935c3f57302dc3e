/** `/lib.min.js` and `/lib.js`: the installed mixpanel-browser build that the official snippet loads. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface LibAsset {
  readonly body: Buffer;
  readonly version: string;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('mixpanel-browser/package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Path → file of the installed `mixpanel-browser` (the snippet build, as on Mixpanel's CDN). */
export function loadLibAssets(): ReadonlyMap<string, LibAsset> {
  const v = version();
  return new Map([
    ['/lib.min.js', { body: readFileSync(require.resolve('mixpanel-browser/dist/mixpanel.min.js')), version: v }],
    ['/lib.js', { body: readFileSync(require.resolve('mixpanel-browser/dist/mixpanel.globals.js')), version: v }],
  ]);
}
