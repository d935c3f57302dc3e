/** Shared setup of the report-table tests: an emulator with a settable clock, and a source over given tables. */
import { NO_RATE_LIMITS, startEmulator, type Emulator } from '../../../emulator/index.js';
import type { LakeflowSource } from '../../../connector-spec/index.js';
import type { MixpanelConfig } from '../config-types.js';
import type { MixpanelTable } from '../table.js';
import { emulatorConfig } from '../testing/emulator-source.js';
import { sourceOfTables } from './testing-source.js';

export interface ReportFixture {
  readonly emu: Emulator;
  readonly clock: { ms: number };
  /** A NEW source (a new run): its run start is the clock now. */
  source(config?: Partial<MixpanelConfig>): LakeflowSource;
  /** The emulator's own answer for a Query-API path (the expected values of a test). */
  query(path: string, params: Readonly<Record<string, string>>): Promise<unknown>;
  close(): Promise<void>;
}

export async function reportFixture(startMs: number, tables: readonly MixpanelTable[]): Promise<ReportFixture> {
  const clock = { ms: startMs };
  const now = (): number => clock.ms;
  const emu = await startEmulator({ now, limits: NO_RATE_LIMITS });
  const sources: LakeflowSource[] = [];
  return {
    emu,
    clock,
    source(config = {}) {
      const s = sourceOfTables(tables, emulatorConfig(emu, config), { now });
      sources.push(s);
      return s;
    },
    async query(path, params) {
      const qs = new URLSearchParams({ ...params, project_id: String(emu.project.id) });
      const auth = Buffer.from(`${emu.project.serviceAccount.username}:${emu.project.serviceAccount.secret}`).toString('base64');
      const r = await fetch(`${emu.url}${path}?${qs.toString()}`, { headers: { authorization: `Basic ${auth}` } });
      if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
      return (await r.json()) as unknown;
    },
    async close() {
      await Promise.all(sources.map((s) => s.close?.()));
      await emu.close();
    },
  };
}
