/**
 * `--lakehouse <location>` → the ObjectStore for it: a local folder, S3 (or an S3-compatible store) or Azure Blob /
 * ADLS Gen2. Credentials come from `env` only (the CLI passes process.env). Opening does no I/O: call
 * `checkWritable(flag)` before a run writes.
 */
import type { Logger } from '../../connector-spec/index.js';
import { LocalStore } from './local.js';
import { parseLocation, redactLocation } from './location.js';
import type { ObjectStore } from './types.js';

export interface OpenStoreOptions {
  /** AWS_*, AZURE_STORAGE_* and LAKEHOUSE_S3_PUT_IF_ABSENT are read from here, never from process.env directly. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The flag named in configuration errors. Default `--lakehouse`. */
  readonly flag?: string;
  readonly logger?: Logger;
}

export async function openStore(location: string, options: OpenStoreOptions): Promise<ObjectStore> {
  const flag = options.flag ?? '--lakehouse';
  const parsed = parseLocation(location, flag);
  // parseLocation refuses locations with credentials in them; redacting again costs nothing.
  const displayUrl = redactLocation(location.trim());
  const logger = options.logger === undefined ? {} : { logger: options.logger };
  switch (parsed.kind) {
    case 'local':
      return new LocalStore(parsed.dir, displayUrl);
    // The cloud SDKs cost about a second of CPU to load: only a run that uses one pays for it.
    case 's3': {
      const { S3Store } = await import('./s3.js');
      return new S3Store({ bucket: parsed.bucket, prefix: parsed.prefix, env: options.env, displayUrl, flag, ...logger });
    }
    case 'azure': {
      const { AzureStore } = await import('./azure.js');
      return new AzureStore({ location: parsed, env: options.env, displayUrl, flag, ...logger });
    }
  }
}
