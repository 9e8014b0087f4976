/** The route-loaders fuzz target for a few hundred inputs (the corpus runner and `npm run fuzz` run it longer). */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { target } from './targets/route-loaders.js';

describe('fuzz target route-loaders', () => {
  it('300 generated and mutated route files: routes or a located error, and exact where valid', async () => {
    await fc.assert(fc.asyncProperty(target.arbitrary, (x) => target.check(x)), { numRuns: 300, seed: 20261130 });
  });
});
