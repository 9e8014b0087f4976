import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PacketBatch, DEFAULT_HEADROOM } from '../../core/packet-batch.js';

function batch(n: number, seq = 0): PacketBatch {
  const b = new PacketBatch({ seq, capacity: n, data: new Uint8Array(n * 40) });
  for (let i = 0; i < n; i++) {
    b.id[i] = 100 + i;
    b.base[i] = i * 40;
    b.offset[i] = i * 40 + 20;
    b.length[i] = 10;
    b.wireLength[i] = 10;
    b.data[i * 40 + 20] = i;
  }
  b.count = n;
  b.anno('dst').set(Array.from({ length: n }, (_, i) => i * 7));
  return b;
}

describe('PacketBatch', () => {
  it('splits by port sharing the arena and merges back into packet order', () => {
    const b = batch(10);
    const ports = Int32Array.from([0, 1, 1, 0, -1, 2, 0, 1, 2, 0]);
    const [a, c, d] = b.split(ports, 3);
    expect(a!.data).toBe(b.data);
    expect(Array.from(a!.id.subarray(0, a!.count))).toEqual([100, 103, 106, 109]);
    expect(Array.from(c!.anno('dst').subarray(0, c!.count))).toEqual([7, 14, 49]);
    const m = PacketBatch.merge(0, [d!, c!, a!]);
    expect(Array.from(m.id.subarray(0, m.count))).toEqual([100, 101, 102, 103, 105, 106, 107, 108, 109]);
    expect(Array.from(m.anno('dst').subarray(0, m.count))).toEqual([0, 7, 14, 21, 35, 42, 49, 56, 63]);
    // One port taking everything: the batch itself, no copy.
    const whole = batch(10);
    expect(whole.split(new Int32Array(10).fill(1), 2)[1]).toBe(whole);
  });

  it('splits any port assignment like a per-port filter, the largest port keeping the batch object, with or without per-port counts from the caller', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 0, maxLength: 80 }), fc.boolean(), (nports, raw, withCounts) => {
        const n = raw.length;
        const b = batch(n);
        b.anno('nextHop').set(Array.from({ length: n }, (_, i) => 1000 - i));
        // Every column distinct per packet, so a misplaced entry in any of them shows.
        for (let i = 0; i < n; i++) {
          b.tsSec[i] = 5000 + i;
          b.tsNsec[i] = 6000 + i;
          b.wireLength[i] = 60 + i;
          b.length[i] = 1 + (i % 9);
        }
        const ports = Int32Array.from(raw, (p) => (p >= nports ? -1 : p));
        const want = Array.from({ length: nports }, (_, p) => raw.map((_q, i) => i).filter((i) => ports[i] === p));
        const columns = (x: PacketBatch, i: number): number[] => [x.id[i], x.offset[i], x.length[i], x.base[i], x.wireLength[i], x.tsSec[i], x.tsNsec[i], x.anno('dst')[i], x.anno('nextHop')[i]];
        const before = Array.from({ length: n }, (_, i) => columns(b, i));
        const out = withCounts ? b.split(ports, nports, Int32Array.from(want, (w) => w.length)) : b.split(ports, nports);
        if (n === 0) {
          // Nothing to split: the (empty) batch itself leaves on port 0, as before.
          expect(out[0]).toBe(b);
          return;
        }
        const largest = want.reduce((best, w, p) => (w.length > want[best].length ? p : best), 0);
        for (let p = 0; p < nports; p++) {
          const o = out[p];
          if (want[p].length === 0) {
            expect(o).toBeNull();
            continue;
          }
          expect(o).not.toBeNull();
          expect(o!.count).toBe(want[p].length);
          expect(o!.data).toBe(b.data);
          if (p === largest) expect(o).toBe(b);
          else expect(o).not.toBe(b);
          for (let j = 0; j < o!.count; j++) expect(columns(o!, j)).toEqual(before[want[p][j]]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('concatenates batches of different arenas by copying bytes, with headroom', () => {
    const x = batch(2);
    const y = batch(3);
    const z = PacketBatch.concat(5, [x, y]);
    expect(z.count).toBe(5);
    expect(z.seq).toBe(5);
    for (let i = 0; i < 5; i++) {
      expect(z.bytes(i)[0]).toBe(i < 2 ? i : i - 2);
      expect(z.offset[i] - z.base[i]).toBeGreaterThanOrEqual(DEFAULT_HEADROOM);
    }
  });

  it('filters in place keeping order and annotations', () => {
    const b = batch(6);
    expect(b.filterInPlace(Uint8Array.from([1, 0, 1, 0, 0, 1]))).toBe(3);
    expect(Array.from(b.id.subarray(0, 3))).toEqual([100, 102, 105]);
    expect(Array.from(b.anno('dst').subarray(0, 3))).toEqual([0, 14, 35]);
  });

  it('recycles into an empty batch whose annotations are gone and come back zeroed', () => {
    const b = batch(4, 3);
    b.anno('nextHop').fill(9);
    const data = new Uint8Array(8);
    b.recycle(8, data, 101);
    expect([b.seq, b.count, b.linkType]).toEqual([8, 0, 101]);
    expect(b.data).toBe(data);
    expect(b.hasAnno('dst')).toBe(false);
    expect(b.hasAnno('nextHop')).toBe(false);
    expect(Array.from(b.anno('nextHop'))).toEqual([0, 0, 0, 0]);
    expect(Array.from(b.anno('vrf', -1))).toEqual([-1, -1, -1, -1]);
  });
});
