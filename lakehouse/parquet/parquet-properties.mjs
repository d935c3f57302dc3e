// The Parquet writer properties of every file the runner writes, defined once: imported by the in-thread writer
// (parquet-writer.ts) and by the encoder worker (plain JS, so it loads without a TypeScript loader). Types:
// parquet-properties.d.mts. Which columns get a dictionary and statistics is decided from the file's first rows
// (parquet-columns.ts) and passed in as `columns`.
import { Compression, EnabledStatistics, WriterPropertiesBuilder } from 'parquet-wasm';

/**
 * ZSTD, `rowGroupRows`-row row groups, the key-value metadata. With a column plan, dictionary encoding and
 * statistics are off by default and on only for the columns it names: parquet-wasm can address top-level
 * columns only (a name is one path part), so nested leaves such as a map's keys and values get neither.
 * Without a plan (a file that never saw a batch), the parquet defaults apply.
 *
 * @param {import('./parquet-properties.d.mts').ParquetPropertiesOptions} options
 * @returns {import('parquet-wasm').WriterProperties}
 */
export function parquetWriterProperties({ keyValueMetadata, rowGroupRows, createdBy, columns }) {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .setCreatedBy(createdBy)
    .setKeyValueMetadata(new Map(keyValueMetadata));
  if (columns !== undefined) {
    builder = builder.setDictionaryEnabled(false).setStatisticsEnabled(EnabledStatistics.None);
    for (const name of columns.dictionary) builder = builder.setColumnDictionaryEnabled(name, true);
    for (const name of columns.statistics) builder = builder.setColumnStatisticsEnabled(name, EnabledStatistics.Page);
  }
  return builder.build();
}
