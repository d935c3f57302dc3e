/** Every check, in the order the suite runs them. Checks that call addData come last in a table. */
import type { SourceCheck, TableCheck } from './check.js';
import { cursorsRoundTrip, futureCursorYieldsNothing, noRecordsWithUnchangedCursor, nullAndEmptyStartAlike, readsTerminate } from './cursors.js';
import { fullReadsGrow, keyDerivationHolds, noLossAcrossTriggers, primaryKeysUnique, resumesFromEveryCursor } from './keys.js';
import { batchesMatchSchema, everyColumnPopulated, noAllNullRecord, nonNullableNonNull, primaryKeysNonNull, readsRecords } from './records.js';
import { badOptionsThrow, metadataValid, schemaDeterministic } from './schema.js';
import { noSecretLeaks } from './secrets.js';
import { schemaSnapshot } from './snapshot.js';
import { listsTables, unknownTableThrows } from './source.js';
import { addedKeysAppear, fullReadMatchesTruth } from './truth.js';

export type { Check, SourceCheck, TableCheck } from './check.js';

export const SOURCE_CHECKS: readonly SourceCheck[] = [listsTables, unknownTableThrows];

export const TABLE_CHECKS: readonly TableCheck[] = [
  schemaDeterministic,
  metadataValid,
  schemaSnapshot,
  badOptionsThrow,
  readsRecords,
  batchesMatchSchema,
  nonNullableNonNull,
  noAllNullRecord,
  primaryKeysNonNull,
  everyColumnPopulated,
  readsTerminate,
  noRecordsWithUnchangedCursor,
  nullAndEmptyStartAlike,
  cursorsRoundTrip,
  primaryKeysUnique,
  fullReadMatchesTruth,
  resumesFromEveryCursor,
  futureCursorYieldsNothing,
  noSecretLeaks,
  fullReadsGrow,
  noLossAcrossTriggers,
  keyDerivationHolds,
  addedKeysAppear,
];
