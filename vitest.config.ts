import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: at a load average of 20 on 2 cores the tshark comparison and the Verilator
    // simulations (banked memory, off-chip latency) took 100-120 s; quiet, 15-25 s.
    testTimeout: 240_000,
    hookTimeout: 300_000,
    // Two cores: one worker per core keeps WebGPU (lavapipe) and Verilator runs from starving each other.
    maxWorkers: 2,
    setupFiles: ['./test/support/register-backends.ts'],
    reporters: ['default', './test/support/closing-line-reporter.ts'],
  },
});
