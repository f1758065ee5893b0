import { defineConfig } from 'vitest/config';

// GPU tests run in forked processes, one file at a time: Dawn must not be created inside worker threads, and on a
// 2-core machine two lavapipe devices at once only slow each other down.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
