/**
 * Reads V8 `.cpuprofile` files (`node --cpu-prof`) and ranks self time, per function and per stage (the file
 * or package a frame lives in), so the bottleneck of a run can be named. Pure apart from reading files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Sampled time outside `(idle)`: what this thread actually spent on CPU. */
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly stages: readonly SelfTime[];
  /** Self time rolled up into the pipeline steps of the issue (natives charged to their nearest JS caller). */
  readonly steps: readonly SelfTime[];
}

/** The stage a frame belongs to: a package, one of our files, a V8 pseudo-frame, or a node: module. */
export function stageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle)
    return '(native)';
  }
  if (url.startsWith('wasm://')) return 'parquet-wasm (wasm)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(connector-spec|sources|runner|emulator|bench|cli)\/(.+?)(?:\?.*)?$/.exec(url);
  // A compiled frame (dist/…/x.js) counts as its source (…/x.ts), so both runs are summarised alike.
  if (ours) return `${ours[1]}/${ours[2]!.replace(/\.js$/, '.ts')}`;
  return url.replace(/^file:\/\//, '');
}

/** The pipeline step a stage belongs to: HTTP → gunzip → split → parse → Arrow → Parquet → merge/commit. */
export function stepOf(stage: string): string {
  if (stage === '(garbage collector)') return 'GC';
  if (stage === '(program)' || stage === '(root)') return 'V8 (program)';
  if (/^node:zlib/.test(stage)) return 'gunzip';
  if (/^(undici|node:(net|stream|internal\/streams|_http|internal\/http))/.test(stage)) return 'HTTP + streams';
  if (stage === 'sources/mixpanel/events/lines.ts') return 'split lines';
  if (/^(sources\/mixpanel\/(json|properties)\.ts|lossless-json|node:internal\/crypto)/.test(stage)) return 'parse + map properties';
  if (stage === 'sources/mixpanel/events/dedupe.ts') return 'parse + map properties';
  if (/^(connector-spec\/arrow|apache-arrow|sources\/mixpanel\/events\/builder\.ts|sources\/mixpanel\/profiles\/profile-rows\.ts)/.test(stage)) {
    return 'build Arrow';
  }
  if (/^(parquet-wasm|(lakehouse\/parquet\/parquet-writer|runner\/partitioned-writer)\.ts)/.test(stage)) return 'Parquet encode';
  if (/^(runner\/|node:fs|node:internal\/fs)/.test(stage)) return 'merge + commit (runner)';
  if (/^sources\//.test(stage)) return 'source (other)';
  if (/^(tsx|esbuild|node:internal\/modules)/.test(stage)) return 'start-up (module loading)';
  return 'other';
}

function frameName(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${stageOf(frame)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

function rank(totals: Map<string, number>, totalMs: number, top: number): SelfTime[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, share: totalMs > 0 ? ms / totalMs : 0 }));
}

/** Self time per function and per stage; `(idle)` is excluded from the shares. */
export function summarizeProfile(profile: CpuProfile, file: string, top = 15): ProfileSummary {
  const byId = new Map<number, CallFrame>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node.callFrame);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  /**
   * Native frames (JSON.parse, Buffer.write) and node internals (node:buffer) are charged to the nearest caller
   * in our code or a package, so the step roll-up names the step that asked for the work.
   */
  const isHelper = (stage: string): boolean => stage === '(native)' || (stage.startsWith('node:') && !stage.startsWith('node:zlib'));
  const callerStage = (id: number): string => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame && frame.url !== '' && !isHelper(stageOf(frame))) return stageOf(frame);
    }
    return '(native)';
  };
  /** Nearest caller in our own code (connector-spec, sources, runner, bench). */
  const ourCaller = (id: number): string | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      const stage = frame ? stageOf(frame) : '';
      if (/^(connector-spec|sources|runner|bench)\//.test(stage)) return stage;
    }
    return undefined;
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const functions = new Map<string, number>();
  const stages = new Map<string, number>();
  const steps = new Map<string, number>();
  let busyMs = 0;
  for (let i = 0; i < samples.length; i++) {
    const frame = byId.get(samples[i]!);
    if (!frame) continue;
    // timeDeltas[i] is the gap before sample i; the time until the next sample belongs to sample i.
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    if (frame.functionName === '(idle)') continue;
    busyMs += ms;
    const name = frameName(frame);
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const stage = stageOf(frame);
    stages.set(stage, (stages.get(stage) ?? 0) + ms);
    let step = stepOf(isHelper(stage) ? callerStage(samples[i]!) : stage);
    // parquet-wasm also decodes: the runner's merge reads staged files back through lakehouse/parquet/parquet-reader.ts.
    if (step === 'Parquet encode' && ourCaller(samples[i]!) === 'lakehouse/parquet/parquet-reader.ts') step = 'Parquet read-back (runner merge)';
    steps.set(step, (steps.get(step) ?? 0) + ms);
  }
  return {
    file,
    totalMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    functions: rank(functions, busyMs, top),
    stages: rank(stages, busyMs, top),
    steps: rank(steps, busyMs, top),
  };
}

/** Every `.cpuprofile` in a directory (one per thread: main and workers), busiest first. */
export async function summarizeProfileDir(dir: string, top = 15): Promise<ProfileSummary[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const summaries: ProfileSummary[] = [];
  for (const f of files) {
    const profile = JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile;
    summaries.push(summarizeProfile(profile, f, top));
  }
  return summaries.sort((a, b) => b.busyMs - a.busyMs);
}

export function formatProfileSummary(s: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`CPU profile ${s.file}: ${(s.busyMs / 1000).toFixed(2)} s busy of ${(s.totalMs / 1000).toFixed(2)} s sampled`];
  lines.push('  self time by pipeline step:');
  for (const st of s.steps) lines.push(`    ${pct(st.share)} ${(st.ms / 1000).toFixed(2).padStart(7)} s  ${st.name}`);
  lines.push('  self time by stage:');
  for (const st of s.stages) lines.push(`    ${pct(st.share)} ${(st.ms / 1000).toFixed(2).padStart(7)} s  ${st.name}`);
  lines.push('  top functions (self time):');
  for (const f of s.functions) lines.push(`    ${pct(f.share)} ${(f.ms / 1000).toFixed(2).padStart(7)} s  ${f.name}`);
  return lines.join('\n');
}
