/**
 * `mailchimp-sync --where "last_seen >= 'not a date'"` selected nothing and exited 0 (issue 19 finding 10). Now it
 * exits 2 naming --where, the literal and the accepted formats, before any Mailchimp call and without touching the
 * lakehouse (byte for byte). A valid date still selects.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMailchimpEmulator, type MailchimpEmulator } from './emulator/index.js';
import { duck, engageLake, scan, sync, type Lake } from './testing.js';

let lake: Lake;
let mc: MailchimpEmulator | undefined;

beforeAll(async () => {
  lake = await engageLake([
    { id: 'old', props: { $email: 'old@x.io', $name: 'Old User', $city: 'Paris' } },
    { id: 'new', props: { $email: 'new@x.io', $name: 'New User', plan: 'pro' } },
  ]);
  await lake.ingest();
});
afterAll(async () => {
  await lake.close();
});
afterEach(async () => {
  await mc?.close();
  mc = undefined;
});

/** Every file under `dir` with its SHA-256. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
    const file = path.join(name.parentPath, name.name);
    out[path.relative(dir, file)] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return out;
}

describe('mailchimp-sync --where with dates', () => {
  it.each([
    ["last_seen >= 'not a date'", "'not a date' is not a valid date or timestamp to compare with last_seen"],
    ["last_seen >= '2026-02-30'", "'2026-02-30' is not a valid date or timestamp"],
    ['last_seen >= 1767225600000', 'last_seen is a timestamp column; compare it with a quoted date, not the number 1767225600000'],
  ])('%s: exit 2 before any Mailchimp call, naming --where and the formats; the lakehouse is unchanged', async (where, what) => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse } = await lake.copy();
    const before = await snapshot(lakehouse);
    const run = await sync(mc, { lakehouse, where });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error [MAILCHIMP_WHERE_BAD_DATE]: --where: ${what}`);
    expect(run.stderr).toContain("write it as 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS[.fff]]'");
    expect(mc.log).toEqual([]);
    expect(await snapshot(lakehouse)).toEqual(before);
  });

  it('a valid date selects by last_seen (dry run)', async () => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse } = await lake.copy();
    // The two profiles were last seen one minute apart, 3 days before T0 (mailchimp/testing.ts).
    const run = await sync(mc, { lakehouse, where: "last_seen > '2026-01-07T12:00:30Z'", dryRun: true });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/2 profiles, 1 selected by --where/);
  });

  it.each([
    ["city = 'Paris'", 'old@x.io'],
    ["custom_properties['plan'] = 'pro'", 'new@x.io'],
  ])('%s: a column the sync does not need itself is read for the filter (dry run)', async (where, email) => {
    expect.hasAssertions();
    mc = await startMailchimpEmulator();
    const { lakehouse } = await lake.copy();
    const run = await sync(mc, { lakehouse, where, dryRun: true });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/2 profiles, 1 selected by --where/);
    expect(await duck(`SELECT email FROM ${await scan(lakehouse, 'mailchimp_sync_plan')}`)).toEqual([{ email }]);
  });
});
