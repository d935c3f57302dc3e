/** Public entry of the connector contract: import from here, not from the files behind it. */
export * from './types.js';
export * from './errors.js';
export * from './arrow/columns.js';
export * from './arrow/schema-metadata.js';
export * from './arrow/take.js';
export * from './arrow/ipc-origin.js';
export * from './runtime-entry.js';
export * from './reserved-tables.js';
export * from './key-derivation.js';
export * from './lease/index.js';
export * from './logger.js';
