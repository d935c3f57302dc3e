import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.js';

function capture(format: 'json' | 'pretty', level = 'info') {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: createLogger({ format, level, stream }), text: () => text };
}

describe('createLogger', () => {
  it('writes JSON lines and redacts secret-looking keys at any depth', async () => {
    const { logger, text } = capture('json');
    logger.info('calling', { table: 'events', api_secret: 's3cr3t-1', nested: { Authorization: 'Basic czNjcjN0', deeper: { password: 'pw-2' } }, list: [{ token: 'tok-3' }] });
    logger.debug('hidden at info');
    await new Promise((r) => setImmediate(r));
    const lines = text().trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', msg: 'calling', table: 'events', api_secret: '[REDACTED]', nested: { Authorization: '[REDACTED]', deeper: { password: '[REDACTED]' } }, list: [{ token: '[REDACTED]' }] });
    for (const secret of ['s3cr3t-1', 'czNjcjN0', 'pw-2', 'tok-3']) expect(text()).not.toContain(secret);
  });

  it('writes short human lines in pretty format, still redacted', async () => {
    const { logger, text } = capture('pretty', 'debug');
    logger.warn('slow', { table: 'engage', secret: 'zzz' });
    await new Promise((r) => setImmediate(r));
    expect(text()).toMatch(/^\d\d:\d\d:\d\d WARN  slow table=engage secret=\[REDACTED\]\n$/);
  });

  it('rejects an unknown level with the fix', () => {
    expect(() => createLogger({ level: 'verbose' })).toThrow('log level verbose is not one of debug, info, warn, error; pass --log-level info');
  });
});
