import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Kernel tests share one Dawn device per file; files run one at a time so
    // two SwiftShader devices do not fight over the machine's two cores.
    fileParallelism: false,
    pool: 'forks',
  },
});
