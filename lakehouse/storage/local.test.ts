/**
 * LocalStore: the shared ObjectStore conformance suite, plus what only a folder can show: temp files are hidden
 * and never left behind, an upload never overwrites, paths cannot leave the root, and checkWritable names the
 * flag, the folder and a fix per failure.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { describeObjectStoreConformance } from './conformance.js';
import { LocalStore, locationFix } from './local.js';

describeObjectStoreConformance(
  'local folder',
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'local-store-'));
    return { store: new LocalStore(path.join(dir, 'lake')), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
  {
    putIfAbsent: 'enforced',
    makeUnwritableStore: async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'local-store-'));
      await writeFile(path.join(dir, 'file'), 'a file where the folder should be');
      return { store: new LocalStore(path.join(dir, 'file', 'lake')), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
);

describe('LocalStore', () => {
  let dir: string;
  let store: LocalStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'local-store-'));
    store = new LocalStore(dir, './lake');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
  const allNames = async (): Promise<string[]> => (await readdir(dir, { recursive: true })).map(String).sort();

  it('putIfAbsent leaves no temp file behind, whether it wins or loses', async () => {
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000000.json', encode('first'))).toBe(true);
    expect(await store.putIfAbsent('t/_delta_log/00000000000000000000.json', encode('second'))).toBe(false);
    expect(await allNames()).toEqual(['t', 't/_delta_log', 't/_delta_log/00000000000000000000.json']);
    expect(await readFile(path.join(dir, 't/_delta_log/00000000000000000000.json'), 'utf8')).toBe('first');
  });

  it('an upload never overwrites: closing onto an existing name fails and both files stay as they were', async () => {
    await store.put('t/part-1.parquet', encode('original'));
    const upload = await store.createUpload('t/part-1.parquet');
    await upload.write(encode('replacement'));
    await expect(upload.close()).rejects.toThrow(/already exists; a data file is never overwritten/);
    expect(await readFile(path.join(dir, 't/part-1.parquet'), 'utf8')).toBe('original');
    expect(await allNames()).toEqual(['t', 't/part-1.parquet']);
  });

  it('an unfinished upload is a hidden temp file that listings skip', async () => {
    const upload = await store.createUpload('t/part-2.parquet');
    await upload.write(encode('half'));
    await writeFile(path.join(dir, 't', '.part-9.parquet.crc'), 'spark checksum');
    expect((await allNames()).filter((n) => n.startsWith('t/.')).length).toBe(2);
    const listed: string[] = [];
    for await (const object of store.list('')) listed.push(object.path);
    expect(listed).toEqual([]);
    await upload.abort();
    expect(await allNames()).toEqual(['t', 't/.part-9.parquet.crc']);
  });

  it('lists in sorted path order across folders (a folder sorts as name + "/")', async () => {
    for (const p of ['a-c.json', 'a/b.json', 'a/c/d.json', 'a.json', 'b.json', 'a0.json']) await store.put(p, encode(p));
    const listed: string[] = [];
    for await (const object of store.list('')) listed.push(object.path);
    expect(listed).toEqual(['a-c.json', 'a.json', 'a/b.json', 'a/c/d.json', 'a0.json', 'b.json']);
    const prefixed: string[] = [];
    for await (const object of store.list('a/c')) prefixed.push(object.path);
    expect(prefixed).toEqual(['a/c/d.json']);
  });

  it('refuses a path that would leave the store', async () => {
    await expect(store.read('../outside')).rejects.toThrow(/must be relative and stay inside the store/);
    await expect(store.put('/etc/x', encode('x'))).rejects.toThrow(/must be relative/);
  });

  it('checkWritable creates a missing folder (mkdir -p) and leaves nothing in it', async () => {
    const deep = new LocalStore(path.join(dir, 'x', 'y', 'lake'));
    await deep.checkWritable('--lakehouse');
    expect(await readdir(path.join(dir, 'x', 'y', 'lake'))).toEqual([]);
  });

  it('checkWritable on a file in the way: a ConfigError naming the flag, the location and the fix', async () => {
    await writeFile(path.join(dir, 'lake'), 'not a folder');
    for (const location of [path.join(dir, 'lake'), path.join(dir, 'lake', 'below')]) {
      const error = await new LocalStore(location, location).checkWritable('--lakehouse').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe('LAKEHOUSE_LOCATION_NOT_WRITABLE');
      expect((error as ConfigError).message).toContain(`--lakehouse ${location}`);
      expect((error as ConfigError).message).toMatch(/a file is in the way of the folder .*: move or delete that file/);
    }
  });

  it('gives each errno its own fix', () => {
    const fixes = ['EEXIST', 'ENOTDIR', 'EACCES', 'EROFS', 'ENOSPC', 'EIO'].map((code) => locationFix(code, '/srv/lake'));
    expect(fixes[0]).toBe(fixes[1]);
    expect(fixes[2]).toMatch(/may not write to \/srv\/lake: fix its permissions/);
    expect(fixes[3]).toMatch(/read-only file system/);
    expect(fixes[4]).toMatch(/disk holding \/srv\/lake is full/);
    expect(new Set(fixes).size).toBe(5);
  });
});
