import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores on CI: cap the number of test files running at once.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/closing-line-reporter.ts'],
  },
});
