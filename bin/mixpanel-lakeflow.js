#!/usr/bin/env node
// Entry point for `npx mixpanel-lakeflow` and `npm start`. Runs the compiled CLI in dist/ (built by `npm install`)
// while it is current, which saves the tsx loader (about 40 MiB of RSS). When dist/ is missing, unfinished or older
// than a source (see bin/build.js), or with MIXPANEL_LAKEFLOW_FROM_SOURCE=1, it runs the TypeScript sources via tsx.
import { distIsFresh } from './build.js';

let main;
if (process.env.MIXPANEL_LAKEFLOW_FROM_SOURCE !== '1' && distIsFresh()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
