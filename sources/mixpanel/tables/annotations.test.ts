import { afterEach, describe, expect, it } from 'vitest';
import { reportFixture, type ReportFixture } from '../reports/testing-setup.js';
import { driveTable } from '../testing/driver.js';
import { ANNOTATIONS_PATH, annotations, parseAnnotations } from './annotations.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
let fx: ReportFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('annotations table', () => {
  it('reads every annotation from start_date to today, 365 days per request, in one snapshot call', async () => {
    expect.hasAssertions();
    fx = await reportFixture(T0, [annotations]);
    const result = await driveTable(fx.source(), 'annotations', null, { tableOptions: { start_date: '2025-06-01' } });
    expect(fx.emu.log.forRoute('annotations').map((e) => `${e.params.from_date}..${e.params.to_date}`)).toEqual(['2025-06-01..2026-05-31', '2026-06-01..2026-11-20']);
    expect(result.calls).toBe(2); // the read, then the converged call of the same run
    const wire = [
      ...((await fx.query(ANNOTATIONS_PATH, { from_date: '2025-06-01', to_date: '2026-05-31' })) as { annotations: { id: number; date: string; description: string; project_id: number }[] }).annotations,
      ...((await fx.query(ANNOTATIONS_PATH, { from_date: '2026-06-01', to_date: '2026-11-20' })) as { annotations: { id: number; date: string; description: string; project_id: number }[] }).annotations,
    ];
    expect(wire.length).toBeGreaterThan(10);
    expect(result.rows).toEqual(
      wire.map((a) => ({ id: BigInt(a.id), date: a.date, time: Date.parse(`${a.date.replace(' ', 'T')}Z`), description: a.description, project_id: BigInt(a.project_id) })),
    );
  });

  it('reads the wall clock in the project timezone', () => {
    const parsed = parseAnnotations({ annotations: [{ id: 1, date: '2024-03-10 02:30:00', description: 'x', project_id: 3, user: { id: 1 } }] }, 'Asia/Kolkata', 'annotations');
    expect(parsed.annotations[0]?.timeMs).toBe(Date.UTC(2024, 2, 9, 21, 0, 0));
    expect(parsed.unknownFields).toEqual(['user']);
  });
});
