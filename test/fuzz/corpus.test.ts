/**
 * The CI corpus: every fuzz target in test/fuzz/targets/ for a few hundred seeded inputs
 * (deterministic: the same inputs on every run; fast-check shrinks a failure to a small case).
 * `npm run fuzz` runs the same targets for a million inputs or more.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import path from 'node:path';
import { loadTarget, targetFiles } from './load-targets.js';

const RUNS = Number(process.env.FUZZ_CORPUS_RUNS ?? 300);
const SEED = 0x4e7b0c5;

describe('fuzz corpus', () => {
  const files = targetFiles();
  it('finds the targets', () => {
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['config-parser.ts', 'control-protocol.ts', 'pcap-reader.ts', 'route-loaders.ts']));
  });
  for (const file of files) {
    it(`${path.basename(file, path.extname(file))}: ${RUNS} inputs, no crash`, async () => {
      const target = await loadTarget(file);
      try {
        await fc.assert(
          fc.asyncProperty(target.arbitrary, async (input) => {
            await target.check(input);
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: false },
        );
      } finally {
        await target.dispose?.();
      }
    }, 180_000);
  }
});
