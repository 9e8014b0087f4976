/**
 * mergePositions (core/packet-order.ts) against the plain k-way merge it replaces: for every set
 * of parts, each packet lands where picking the smallest head id (ties to the lower part) puts
 * it. Both of its ways are exercised: the counting pass (integer ids in order, narrow span) and
 * the head-by-head merge (unordered parts, fractional ids, wide spans).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mergePositions } from '../../core/packet-order.js';
import { PacketBatch } from '../../core/packet-batch.js';

/** The reference: the k-way merge PacketBatch.merge used to run, as output positions. */
function referencePositions(parts: number[][]): number[] {
  const next = parts.map(() => 0);
  const start: number[] = [];
  let total = 0;
  for (const p of parts) {
    start.push(total);
    total += p.length;
  }
  const pos = new Array<number>(total);
  for (let n = 0; n < total; n++) {
    let best = -1;
    for (let k = 0; k < parts.length; k++) if (next[k] < parts[k].length && (best < 0 || parts[k][next[k]] < parts[best][next[best]])) best = k;
    pos[start[best] + next[best]++] = n;
  }
  return pos;
}

function positions(parts: number[][]): number[] {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const got = mergePositions(
    parts.map((p) => Float64Array.from(p)),
    parts.map((p) => p.length),
    total,
  );
  return Array.from(got.subarray(0, total));
}

/** Parts as a split makes them: ids base..base+n-1 dealt to k parts, each part in order. */
const splitParts = fc
  .record({ base: fc.integer({ min: 0, max: 1e9 }), ports: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 300 }) })
  .map(({ base, ports }) => {
    const parts: number[][] = [[], [], [], [], []];
    ports.forEach((p, i) => parts[p].push(base + i));
    return parts;
  });

describe('mergePositions', () => {
  it('places split parts where the k-way merge does (counting pass)', () => {
    fc.assert(
      fc.property(splitParts, (parts) => {
        expect(positions(parts)).toEqual(referencePositions(parts));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps ties in part order and each part in its own order', () => {
    // Tee-like duplicates: the same ids on several parts.
    expect(positions([[1, 2, 2], [2, 3], [1]])).toEqual(referencePositions([[1, 2, 2], [2, 3], [1]]));
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 30 }).map((a) => a.sort((x, y) => x - y)), { minLength: 1, maxLength: 5 }), (parts) => {
        expect(positions(parts)).toEqual(referencePositions(parts));
      }),
      { numRuns: 300 },
    );
  });

  it('falls back to the head-by-head merge for unordered parts, fractional ids and wide spans', () => {
    // A reassembled packet carries an older id ahead of newer ones: its part is not in order.
    const unordered = [[5, 200, 201], [100, 202]];
    expect(positions(unordered)).toEqual(referencePositions(unordered));
    const fractional = [[0.5, 2], [1, 1.5]];
    expect(positions(fractional)).toEqual(referencePositions(fractional));
    const wide = [[0, 1e12], [5, 1e12 + 1]];
    expect(positions(wide)).toEqual(referencePositions(wide));
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 20 }), { minLength: 1, maxLength: 4 }), (parts) => {
        expect(positions(parts)).toEqual(referencePositions(parts));
      }),
      { numRuns: 200 },
    );
  });
});

describe('PacketBatch split outputs and merges reuse batch objects', () => {
  function source(n: number): PacketBatch {
    const b = new PacketBatch({ seq: 0, capacity: n, data: new Uint8Array(n) });
    return b;
  }
  function fill(b: PacketBatch, seq: number, n: number): void {
    b.recycle(seq, b.data, 1);
    for (let i = 0; i < n; i++) {
      b.id[i] = seq * 100 + i;
      b.offset[i] = i;
      b.length[i] = 1;
    }
    b.count = n;
    b.anno('dst').set(Array.from({ length: n }, (_, i) => seq * 1000 + i));
  }

  it('hands out the same objects only after the source batch was recycled', () => {
    const src = source(8);
    fill(src, 1, 8);
    const ports = Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]);
    // Both outputs are selection views over the source batch, new objects kept for its next use.
    const [a1, b1] = src.split(ports, 2);
    expect(a1).not.toBe(src);
    expect(b1).not.toBe(src);
    expect(Array.from(a1!.id.subarray(0, a1!.count))).toEqual([100, 102, 104, 106]);
    const m1 = PacketBatch.merge(1, [b1!, a1!]);
    expect(Array.from(m1.anno('dst').subarray(0, m1.count))).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]);
    // A second merge in the same use: a new object, the first one untouched.
    const m1b = PacketBatch.merge(1, [b1!, a1!]);
    expect(new Set([src, a1, b1, m1, m1b]).size).toBe(5);
    expect(Array.from(m1.id.subarray(0, m1.count))).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    // Next use of the source batch: the earlier output comes back, refilled, annotations included.
    fill(src, 2, 8);
    const [a3, b3] = src.split(ports, 2);
    expect(a3).toBe(a1);
    expect(b3).toBe(b1);
    expect(Array.from(b3!.id.subarray(0, b3!.count))).toEqual([201, 203, 205, 207]);
    expect(Array.from(b3!.anno('dst').subarray(0, b3!.count))).toEqual([2001, 2003, 2005, 2007]);
    const m2 = PacketBatch.merge(2, [a3!, b3!]);
    expect(Array.from(m2.id.subarray(0, m2.count))).toEqual([200, 201, 202, 203, 204, 205, 206, 207]);
    expect(m2.seq).toBe(2);
  });

  it('merges parts without a common annotation, reading 0 where a part has none', () => {
    const src = source(4);
    fill(src, 0, 4);
    const [a, b] = src.split(Int32Array.from([0, 1, 0, 1]), 2);
    a!.anno('paint').fill(7);
    const m = PacketBatch.merge(0, [a!, b!]);
    expect(Array.from(m.anno('paint').subarray(0, 4))).toEqual([7, 0, 7, 0]);
    expect(Array.from(m.offset.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    expect(m.data).toBe(src.data);
  });
});
