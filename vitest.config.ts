import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bff/**/*.test.ts', 'dev/**/*.test.ts', 'web/**/*.test.ts', 'shared/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers; two workers fit the 2-core machines.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test/artifacts/vitest.json' },
  },
});
