/** A short run of the `pcap-reader` fuzz target (npm run fuzz runs it for millions of inputs). */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { target } from './targets/pcap-reader.js';

describe('fuzz target pcap-reader', () => {
  it('holds its invariants on 300 inputs', async () => {
    await fc.assert(fc.asyncProperty(target.arbitrary, async (input) => target.check(input)), { numRuns: 300, seed: 20261130 });
  }, 120_000);
});
