import { describe, expect, it } from 'vitest';
import { measureEmulatorMemory } from './scripts/measure-memory.js';

// The 1M-event figure is measured by `npm run bench`; this guard is cheaper and still fails if the export were
// buffered: 250k events are ~200 MB of JSONL, so a whole-body buffer alone would break the bound.
describe('emulator footprint', () => {
  it('generates and serves 250k events (drained by a client in another process) under 200 MB RSS', async () => {
    const m = await measureEmulatorMemory(250_000, false);
    expect(m.events).toBeGreaterThan(245_000);
    expect(m.peakRssMB).toBeLessThan(200);
  }, 120_000);
});
