/** The cursor of every proxy table: `{ "v": 1, "segment": <sequence>, "offset": <byte offset> }` (key order fixed). */
import { ConfigError, isStartCursor, type Cursor } from '../../connector-spec/index.js';
import type { SpoolPosition } from './spool-reader.js';

export function parseCursor(cursor: Cursor, table: string): SpoolPosition | null {
  if (isStartCursor(cursor)) return null;
  const c = cursor as Record<string, unknown>;
  if (typeof cursor !== 'object' || cursor === null || Array.isArray(cursor) || c['v'] !== 1 || !Number.isSafeInteger(c['segment']) || !Number.isSafeInteger(c['offset']) || (c['offset'] as number) < 0) {
    throw new ConfigError(`${table}: cursor ${JSON.stringify(cursor)} is not a mixpanel_proxy cursor ({"v":1,"segment":N,"offset":N}); run the table with --full-refresh`, {
      code: 'PROXY_BAD_CURSOR',
      context: { table },
    });
  }
  return { segment: c['segment'] as number, offset: c['offset'] as number };
}

export function cursorOf(position: SpoolPosition | null): Cursor {
  return position === null ? null : { v: 1, segment: position.segment, offset: position.offset };
}
