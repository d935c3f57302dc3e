// Preload for TypeScript children and worker threads: `node --import <this file> x.ts` (see runtime-entry.ts).
// Plain JS so it loads without a loader. tsx's own `--import tsx` registers its hooks on the main thread only
// (Node 20), so a worker started with it cannot load .ts; tsx's register() works in a process and in a worker.
import { register } from 'tsx/esm/api';

register();
