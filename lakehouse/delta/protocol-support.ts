/**
 * Which Delta protocols this connector reads and writes.
 * Read: reader version 1; 2 or a `columnMapping` feature only with `delta.columnMapping.mode` none; 3 with
 * reader features we can honour (`timestampNtz`, `vacuumProtocolCheck`). Anything else is refused with the
 * feature named (a deletion vector we ignore would bring deleted rows back).
 * Write: reader ≤ 1 (or 3 with no reader features) and writer ≤ 2 with no features, or writer 7 whose
 * writerFeatures ⊆ {appendOnly, invariants}; `delta.appendOnly=true` refuses removes; a column with
 * `delta.invariants` is refused (we do not evaluate SQL expressions).
 */
import { appendOnlyViolation, unsupportedFeature } from '../errors.js';
import type { MetadataAction, ProtocolAction } from './actions.js';
import { fieldsWithMetadata, type DeltaStructType } from './schema.js';
import { isAppendOnly } from './table-properties.js';

const READABLE_READER_FEATURES: ReadonlySet<string> = new Set(['timestampNtz', 'vacuumProtocolCheck']);
const WRITABLE_WRITER_FEATURES: ReadonlySet<string> = new Set(['appendOnly', 'invariants']);

/** What each legacy writer version (3–6) adds, for the message. */
const WRITER_VERSION_FEATURES: Readonly<Record<number, string>> = {
  3: 'checkConstraints (writer version 3)',
  4: 'changeDataFeed and generatedColumns (writer version 4)',
  5: 'columnMapping (writer version 5)',
  6: 'identityColumns (writer version 6)',
};

function columnMappingMode(metadata: MetadataAction | undefined): string {
  return metadata?.configuration['delta.columnMapping.mode'] ?? 'none';
}

/** Throws a ConfigError naming the first reader feature we cannot honour. */
export function assertReadable(table: string, protocol: ProtocolAction, metadata: MetadataAction | undefined): void {
  const reader = protocol.minReaderVersion;
  if (reader > 3) throw unsupportedFeature(table, `Delta reader version ${reader}`, 'read');
  if (reader === 2 && columnMappingMode(metadata) !== 'none') throw unsupportedFeature(table, 'columnMapping', 'read');
  if (reader === 3) {
    for (const feature of protocol.readerFeatures ?? []) {
      if (feature === 'columnMapping' && columnMappingMode(metadata) === 'none') continue;
      if (!READABLE_READER_FEATURES.has(feature)) throw unsupportedFeature(table, feature, 'read');
    }
  }
}

export interface WriteCheck {
  readonly removesFiles?: boolean;
}

/** Throws a ConfigError (LAKEHOUSE_UNSUPPORTED_FEATURE) naming the feature when we must not write the table. */
export function assertWritable(table: string, protocol: ProtocolAction, metadata: MetadataAction, schema: DeltaStructType, check: WriteCheck = {}): void {
  const reader = protocol.minReaderVersion;
  if (reader === 2) throw unsupportedFeature(table, 'columnMapping (reader version 2)', 'write');
  if (reader === 3) {
    const feature = protocol.readerFeatures?.[0];
    if (feature !== undefined) throw unsupportedFeature(table, feature, 'write');
  }
  if (reader > 3) throw unsupportedFeature(table, `Delta reader version ${reader}`, 'write');
  const writer = protocol.minWriterVersion;
  if (writer >= 3 && writer <= 6) throw unsupportedFeature(table, WRITER_VERSION_FEATURES[writer] as string, 'write');
  if (writer > 7) throw unsupportedFeature(table, `Delta writer version ${writer}`, 'write');
  if (writer === 7) {
    const unsupported = (protocol.writerFeatures ?? []).filter((feature) => !WRITABLE_WRITER_FEATURES.has(feature));
    if (unsupported.length > 0) throw unsupportedFeature(table, unsupported.join('`, `'), 'write');
  }
  const invariants = fieldsWithMetadata(schema, 'delta.invariants');
  if (invariants.length > 0) {
    throw unsupportedFeature(table, `invariants (delta.invariants on ${invariants.join(', ')})`, 'write', 'remove the column invariants (or write this table with Spark)');
  }
  if (check.removesFiles && isAppendOnly(metadata.configuration)) {
    throw appendOnlyViolation(table);
  }
}
