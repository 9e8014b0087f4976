import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: one worker per core keeps WebGPU (lavapipe) and Verilator runs from starving each other.
    maxWorkers: 2,
    setupFiles: ['./test/support/register-backends.ts'],
    reporters: ['default', './test/support/closing-line-reporter.ts'],
  },
});
