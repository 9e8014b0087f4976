/**
 * The CPU batch walk's own shapes (core/structures/multi-fib/lookup-batch.ts), against
 * lookupImage: the walk works four items at a time in its root and probe passes and two at a
 * time in its node passes, stores answers in place and finishes only items that reached a
 * RECORD. So every batch length modulo 4 and every node-list length modulo 2 must answer
 * right, with and without the /24 cache, with a vrf column and without, on layout-2 images of
 * every node shape and with records at L0, in level-1 and in level-2 nodes (the fixtures of
 * test/kernels/layout2-images.ts, built independently of MultiFib).
 */
import { describe, expect, it } from 'vitest';
import { lookupImage, nodeEntry } from '../../core/structures/multi-fib/image-format.js';
import { lookupBatch } from '../../core/structures/multi-fib/lookup-batch.js';
import { ownCache } from '../../core/structures/multi-fib/destination-cache.js';
import { imageCensus, layout2Inputs, layout2Tables } from '../kernels/layout2-images.js';
import { withSelfLoopNode } from '../fpga/image-builder.js';

const tables = layout2Tables();
const i32 = (u: Uint32Array): Int32Array => new Int32Array(u.buffer, u.byteOffset, u.length);
const LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 1023, 1024, 1025, 1026, 1027, 2051, 4099];

/** lookupBatch over the first `n` inputs, the cache on (skip 0) or sitting out; out pre-filled with garbage. */
function walkOnce(image: Int32Array, dst: Int32Array, vrf: Int32Array | null, n: number, cached: boolean): Int32Array {
  ownCache(image).skip = cached ? 0 : Number.MAX_SAFE_INTEGER;
  const out = new Int32Array(n).fill(0x5a5a5a5a);
  lookupBatch(image, vrf, dst.subarray(0, n), out, n);
  return out;
}

describe('lookupBatch walk shapes against lookupImage', () => {
  it('the fixtures hold records at L0 and in nodes, and both node widths', () => {
    const census = tables.map((t) => imageCensus(t.image)).reduce((a, c) => {
      for (const k of Object.keys(a) as (keyof typeof a)[]) a[k] += c[k];
      return a;
    });
    for (const [k, v] of Object.entries(census)) expect(v, k).toBeGreaterThan(0);
  });

  for (const [ti, t] of tables.entries()) {
    it(`${t.name}: batch lengths ${LENGTHS.join('/')}, cached and not, vrf column and null`, () => {
      const image = i32(t.image);
      const { dst, vrf } = layout2Inputs(t, 4099, 31 + ti);
      // FIB 0 for the null-vrf runs: the answers lookupImage gives FIB 0.
      let routed = 0;
      let checked = 0;
      for (const n of LENGTHS) {
        for (const cached of [false, true, true]) {
          for (const withVrf of [true, false]) {
            const got = walkOnce(image, dst, withVrf ? vrf : null, n, cached);
            for (let i = 0; i < n; i++) {
              const want = lookupImage(image, withVrf ? vrf[i] : 0, dst[i]);
              if (want >= 0) routed++;
              if (got[i] !== want) {
                expect.fail(`${t.name}, batch ${n}, ${cached ? 'cached' : 'uncached'}, ${withVrf ? 'vrf column' : 'vrf null'}, item ${i} (dst 0x${(dst[i] >>> 0).toString(16)}, vrf ${withVrf ? vrf[i] : 0}): got ${got[i]}, lookupImage ${want}`);
              }
              checked++;
            }
          }
        }
      }
      expect(checked).toBe(LENGTHS.reduce((a, n) => a + n, 0) * 6);
      expect(routed).toBeGreaterThan(checked / 20);
    });
  }

  it('a malformed image whose level-2 node holds a node entry: those items answer -1, the rest what lookupImage answers', () => {
    const img = i32(withSelfLoopNode(tables[0].image, nodeEntry));
    const n = 4 * 256 + 3;
    const dst = new Int32Array(n);
    for (let i = 0; i < n; i++) dst[i] = i < 4 * 256 ? (0x0a0b0000 | ((i & 3) << 8) | (i >> 2)) : [0x0a000700, 0x0a0b0001, 0x0a0b0100][i - 4 * 256];
    for (const cached of [false, true]) {
      const got = walkOnce(img, dst, null, n, cached);
      for (let i = 0; i < n; i++) {
        const want = lookupImage(img, 0, dst[i]);
        // lookupImage ends a looping walk on the node entry its bound leaves; the batch says no route.
        expect(got[i], `item ${i}`).toBe(want >>> 30 >= 2 ? -1 : want);
      }
      expect(got[n - 3]).toBe(5);
    }
  });
});
