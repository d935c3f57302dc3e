import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, noProgress } from './index.js';

function fakeTty(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number; cursorTo: () => boolean; moveCursor: () => boolean; clearLine: () => boolean; clearScreenDown: () => boolean };
  let text = '';
  (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.isTTY = true;
  stream.columns = 200;
  stream.cursorTo = () => true;
  stream.moveCursor = () => true;
  stream.clearLine = () => true;
  stream.clearScreenDown = () => true;
  return { stream, text: () => text };
}

describe('createProgress', () => {
  it('does nothing when the stream is not a TTY', () => {
    expect(createProgress({ stream: new PassThrough() as unknown as NodeJS.WriteStream })).toBe(noProgress);
  });

  it('renders a bar per table with rows, MB, calls, slices and the API budget on a TTY', async () => {
    const { stream, text } = fakeTty();
    const progress = createProgress({ stream });
    progress.tableStarted('events');
    progress.update('events', { rows: 12345, bytes: 3 * 1_048_576, calls: 4, slicesDone: 2, slicesTotal: 7, apiBudgetLeft: 55 });
    progress.tableFinished('events', 'ok');
    progress.stop();
    await new Promise((r) => setImmediate(r));
    expect(text()).toMatch(/events\s+\| ok \| 12345 rows \| 3\.0 MB \| calls 4 \| slices 2\/7 \| \d+ rows\/s \| API left 55/);
  });
});
