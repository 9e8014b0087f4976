/**
 * A fuzz target: generated inputs (fast-check arbitraries) thrown at one parser or protocol.
 * `check` must accept every input the way a user would see it handled: a clean, located error
 * is fine; a crash (an unexpected exception type), a hang, unbounded memory or a broken
 * invariant is a bug. Each target lives in `test/fuzz/targets/<name>.ts` and exports `target`.
 * A small corpus of every target runs in CI (`test/fuzz/corpus.test.ts`); `npm run fuzz` runs
 * each for a million inputs or more, outside CI.
 */
import type { Arbitrary } from 'fast-check';

export interface FuzzTarget<T> {
  /** Short name: `config-parser`, `pcap-reader`, `route-loaders`, `control-protocol`. */
  name: string;
  arbitrary: Arbitrary<T>;
  /** Throws (or rejects) only on a bug; expected rejections of bad input are handled inside. */
  check(input: T): void | Promise<void>;
  /** Optional: release what the target set up (servers, files) once a run is over. */
  dispose?(): void | Promise<void>;
}
