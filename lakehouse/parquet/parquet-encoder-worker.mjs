// Parquet encoding off the main thread (plain JS so it loads without a TypeScript loader).
// Messages in:  open {id, kv, rowGroupRows, createdBy} · batch {id, ipc, length, plan?} · end {id} · abort {id}
//               (the first batch of a file carries its column plan; the properties are built when it arrives;
//               `ipc` is a transferred ArrayBuffer whose first `length` bytes are the batch's IPC stream)
// Messages out: spare {id, buffer} (a batch's `ipc` handed back once copied into WebAssembly memory, for reuse) ·
//               taken {id} (the encoder pulled the batch: backpressure) · chunk {id, bytes} · done {id} · error {id, message}
// It never touches the file system: the main thread writes, fsyncs and renames, so crash safety is unchanged.
import { parentPort } from 'node:worker_threads';
import { Table, transformParquetStream } from 'parquet-wasm';
import { parquetWriterProperties } from './parquet-properties.mjs';

const files = new Map();

function open(id, kv, rowGroupRows, createdBy) {
  let resolvePlan;
  const plan = new Promise((resolve) => (resolvePlan = resolve));
  const state = { queue: [], wake: undefined, ended: false, resolvePlan };
  files.set(id, state);
  const input = new ReadableStream(
    {
      pull: async (controller) => {
        while (state.queue.length === 0 && !state.ended) await new Promise((resolve) => (state.wake = resolve));
        const next = state.queue.shift();
        if (next) {
          controller.enqueue(next.batch);
          if (next.last) parentPort.postMessage({ type: 'taken', id });
        } else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  const run = async () => {
    const props = parquetWriterProperties({ keyValueMetadata: kv, rowGroupRows, createdBy, columns: await plan });
    const output = await transformParquetStream(input, props);
    const reader = output.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const bytes = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
      parentPort.postMessage({ type: 'chunk', id, bytes }, [bytes.buffer]);
    }
  };
  run().then(
    () => parentPort.postMessage({ type: 'done', id }),
    (error) => parentPort.postMessage({ type: 'error', id, message: error instanceof Error ? error.message : String(error) }),
  ).finally(() => {
    for (const item of state.queue.splice(0)) item.batch.free();
    files.delete(id);
  });
}

parentPort.on('message', (m) => {
  const state = files.get(m.id);
  if (m.type === 'open') open(m.id, m.kv, m.rowGroupRows, m.createdBy);
  else if (!state) return;
  else if (m.type === 'batch') {
    state.resolvePlan(m.plan);
    let table;
    try {
      table = Table.fromIPCStream(new Uint8Array(m.ipc, 0, m.length)); // copied into WebAssembly memory here
    } finally {
      parentPort.postMessage({ type: 'spare', id: m.id, buffer: m.ipc }, [m.ipc]);
    }
    let batches;
    try {
      batches = table.recordBatches();
    } finally {
      table.free();
    }
    if (batches.length === 0) parentPort.postMessage({ type: 'taken', id: m.id });
    batches.forEach((batch, i) => state.queue.push({ batch, last: i === batches.length - 1 }));
    state.wake?.();
  } else if (m.type === 'end' || m.type === 'abort') {
    if (m.type === 'abort') for (const item of state.queue.splice(0)) item.batch.free();
    state.resolvePlan(undefined);
    state.ended = true;
    state.wake?.();
  }
});
