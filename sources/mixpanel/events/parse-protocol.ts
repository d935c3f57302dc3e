/**
 * Messages between the parse pool and its workers, with the parsers that check them at the thread boundary
 * (a message is `unknown` until parsed).
 */
import type { ErrorContext, ErrorKind } from '../../../connector-spec/index.js';
import type { EventCounters } from './builder.js';
import type { ChunkSettings } from './parse-chunk.js';
import type { ZoneShiftState } from './zone-shift.js';

export interface ParseWorkerRequest {
  readonly id: number;
  /** The chunk (complete lines), transferred. */
  readonly bytes: ArrayBuffer;
  readonly baseOffset: number;
  readonly settings: ChunkSettings;
}

export interface WorkerError {
  readonly kind: ErrorKind;
  readonly message: string;
  readonly code: string;
  readonly context: ErrorContext;
}

export type ParseWorkerReply =
  | {
      readonly type: 'parsed';
      readonly id: number;
      /** Arrow IPC stream of the chunk's batches (transferred); null when the chunk held no event. */
      readonly ipc: ArrayBuffer | null;
      readonly rows: number;
      readonly counters: EventCounters;
      readonly zoneShift: ZoneShiftState;
    }
  | { readonly type: 'failed'; readonly id: number; readonly error: WorkerError };

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new TypeError(`parse worker protocol: ${what} is not an object`);
  return value as Record<string, unknown>;
}

function num(r: Record<string, unknown>, key: string): number {
  const v = r[key];
  if (typeof v !== 'number') throw new TypeError(`parse worker protocol: ${key} is not a number`);
  return v;
}

export function parseWorkerRequest(message: unknown): ParseWorkerRequest {
  const r = record(message, 'request');
  const settings = record(r['settings'], 'settings');
  const bytes = r['bytes'];
  if (!(bytes instanceof ArrayBuffer)) throw new TypeError('parse worker protocol: bytes is not an ArrayBuffer');
  const selected = settings['selected'];
  if (selected !== null && !(Array.isArray(selected) && selected.every((s) => typeof s === 'string'))) throw new TypeError('parse worker protocol: bad selected');
  const legacyZone = settings['legacyZone'];
  if (legacyZone !== null && typeof legacyZone !== 'string') throw new TypeError('parse worker protocol: bad legacyZone');
  return {
    id: num(r, 'id'),
    bytes,
    baseOffset: num(r, 'baseOffset'),
    settings: { what: String(settings['what']), legacyZone, selected: selected as readonly string[] | null },
  };
}

export function parseWorkerReply(message: unknown): ParseWorkerReply {
  const r = record(message, 'reply');
  const id = num(r, 'id');
  if (r['type'] === 'failed') {
    const e = record(r['error'], 'error');
    return {
      type: 'failed',
      id,
      error: { kind: String(e['kind']) as ErrorKind, message: String(e['message']), code: String(e['code']), context: record(e['context'], 'context') as ErrorContext },
    };
  }
  if (r['type'] !== 'parsed') throw new TypeError('parse worker protocol: unknown reply type');
  const ipc = r['ipc'];
  if (ipc !== null && !(ipc instanceof ArrayBuffer)) throw new TypeError('parse worker protocol: ipc is not an ArrayBuffer');
  return {
    type: 'parsed',
    id,
    ipc,
    rows: num(r, 'rows'),
    counters: record(r['counters'], 'counters') as unknown as EventCounters,
    zoneShift: record(r['zoneShift'], 'zoneShift') as unknown as ZoneShiftState,
  };
}
