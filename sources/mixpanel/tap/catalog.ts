/**
 * Discovery (`--discover`: the Singer catalog of the tap's streams) and reading a catalog back (`--catalog`):
 * which streams are selected, which properties are declared (for select_properties_by_default=false) and which
 * are deselected. Property metadata records the Mixpanel name behind each output name (`mp-property`).
 */
import { ConfigError, type LakeflowSource, type TableOptions } from '../../../connector-spec/index.js';
import type { TapSettings } from './config.js';
import { NamingMap } from './naming.js';
import { StreamSerializer, type JsonSchema } from './records.js';
import type { TapStream } from './streams.js';

export interface StreamSelection {
  readonly declared: ReadonlySet<string>;
  readonly excluded: ReadonlySet<string>;
}

/** Selected streams → their property selection; `undefined` when no catalog was given (every stream). */
export type CatalogSelection = ReadonlyMap<string, StreamSelection>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(why: string): ConfigError {
  return new ConfigError(`catalog.json ${why}: write it with --discover, then mark streams "selected": true`, { code: 'MP_TAP_CATALOG_INVALID', context: { path: 'catalog' } });
}

export async function discoverCatalog(
  source: LakeflowSource,
  streams: readonly TapStream[],
  tableOptions: Readonly<Record<string, TableOptions>>,
  settings: TapSettings,
  naming: Readonly<Record<string, Record<string, string>>>,
): Promise<{ streams: unknown[] }> {
  const entries: unknown[] = [];
  for (const s of streams) {
    const options = { tableOptions: tableOptions[s.table] ?? {} };
    const [schema, metadata] = [await source.getSchema(s.table, options), await source.readTableMetadata(s.table, options)];
    const names = new NamingMap(settings.propertyNaming, naming[s.stream] ?? {});
    const serializer = new StreamSerializer({ table: s.table, schema, metadata, naming: names, settings });
    const keys = serializer.keyProperties();
    const json: JsonSchema = serializer.jsonSchema();
    const rawOf = new Map(names.propertyEntries().map(([raw, out]) => [out, raw]));
    const props = Object.keys((json['properties'] ?? {}) as Record<string, unknown>).map((out) => ({
      breadcrumb: ['properties', out],
      metadata: { inclusion: keys.includes(out) ? 'automatic' : 'available', ...(rawOf.has(out) ? { 'mp-property': rawOf.get(out) } : {}) },
    }));
    entries.push({
      tap_stream_id: s.stream,
      stream: s.stream,
      key_properties: keys,
      schema: json,
      metadata: [
        {
          breadcrumb: [],
          metadata: {
            'table-key-properties': keys,
            'forced-replication-method': metadata.ingestionType === 'snapshot' ? 'FULL_TABLE' : 'INCREMENTAL',
            'valid-replication-keys': serializer.bookmarkProperties(),
            inclusion: 'available',
            'mp-table': s.table,
          },
        },
        ...props,
      ],
    });
  }
  return { streams: entries };
}

/** Read a catalog: streams selected by `metadata` (breadcrumb []) or the legacy `schema.selected`. */
export function parseCatalog(raw: unknown): CatalogSelection {
  if (!isObject(raw) || !Array.isArray(raw['streams'])) throw bad('has no "streams" list');
  const selected = new Map<string, StreamSelection>();
  for (const entry of raw['streams'] as unknown[]) {
    if (!isObject(entry)) throw bad('has a stream entry that is not an object');
    const name = typeof entry['tap_stream_id'] === 'string' ? entry['tap_stream_id'] : entry['stream'];
    if (typeof name !== 'string') throw bad('has a stream without tap_stream_id');
    const metadata = Array.isArray(entry['metadata']) ? (entry['metadata'] as unknown[]).filter(isObject) : [];
    const root = metadata.find((m) => Array.isArray(m['breadcrumb']) && (m['breadcrumb'] as unknown[]).length === 0);
    const schema = isObject(entry['schema']) ? entry['schema'] : {};
    const isSelected = (isObject(root?.['metadata']) && root['metadata']['selected'] === true) || schema['selected'] === true;
    if (!isSelected) continue;
    const declared = new Set(Object.keys(isObject(schema['properties']) ? schema['properties'] : {}));
    const excluded = new Set<string>();
    for (const m of metadata) {
      const crumb = m['breadcrumb'];
      if (Array.isArray(crumb) && crumb.length === 2 && crumb[0] === 'properties' && typeof crumb[1] === 'string' && isObject(m['metadata'])) {
        if (m['metadata']['selected'] === false && m['metadata']['inclusion'] !== 'automatic') excluded.add(crumb[1]);
      }
    }
    selected.set(name, { declared, excluded });
  }
  return selected;
}
