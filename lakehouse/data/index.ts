/**
 * The data half of a Delta table: write one new Parquet data file (`createDataFile`, returning its `add` with
 * Delta stats) and read one back (`readDataFile`, row group by row group, optionally cast to the table's logical
 * schema). `DeltaTable` delegates to these; the runner's merge reads and writes through them. `ColumnRange` skips
 * files by a column's stats.
 */
export { createDataFile, LAKEHOUSE_EMPTY_DATA_FILE, type DataFileDeps } from './writer.js';
export { readDataFile } from './reader.js';
export { ColumnRange } from './column-range.js';
export { HIVE_DEFAULT_PARTITION, dataFilePath, escapePartitionName, unescapePartitionName, partitionValuesOfPath } from './partition-path.js';
