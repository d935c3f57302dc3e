import type { WriterProperties } from 'parquet-wasm';

/** Per-column choices for one file (top-level column names; plain data, so it crosses to the worker as is). */
export interface ParquetColumnPlan {
  /** Columns written with a dictionary (every other column: plain). */
  readonly dictionary: readonly string[];
  /** Columns with page- and chunk-level statistics (every other column: none). */
  readonly statistics: readonly string[];
}

export interface ParquetPropertiesOptions {
  readonly keyValueMetadata: Iterable<readonly [string, string]>;
  readonly rowGroupRows: number;
  readonly createdBy: string;
  readonly columns?: ParquetColumnPlan | undefined;
}

export function parquetWriterProperties(options: ParquetPropertiesOptions): WriterProperties;
