import { describe, expect, it } from 'vitest';
import { measureEmulatorMemory } from './scripts/measure-memory.js';

describe('emulator footprint', () => {
  it('generates and serves 1M events (drained by a client in another process) under 200 MB RSS', async () => {
    const m = await measureEmulatorMemory(1_000_000, false);
    expect(m.events).toBeGreaterThan(990_000);
    expect(m.peakRssMB).toBeLessThan(200);
  });
});
