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

  it('splits any port assignment like a per-port filter, into selection views (the batch itself when one port takes all), with or without per-port counts from the caller', () => {
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
        const onePortTakesAll = want.some((w) => w.length === n);
        for (let p = 0; p < nports; p++) {
          const o = out[p];
          if (want[p].length === 0) {
            expect(o).toBeNull();
            continue;
          }
          expect(o).not.toBeNull();
          expect(o!.count).toBe(want[p].length);
          expect(o!.data).toBe(b.data);
          if (onePortTakesAll) expect(o).toBe(b);
          else expect(o!.isSelectionView).toBe(true);
          for (let j = 0; j < o!.count; j++) expect(columns(o!, j)).toEqual(before[want[p][j]]);
          expect(o!.isSelectionView).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gathers a selection view\'s columns one by one, each as it was at the split, whatever the view does first', () => {
    const b = batch(8);
    const ports = Int32Array.from([1, 0, 1, 1, -1, 0, 1, 0]);
    const [a, c] = b.split(ports, 2);
    expect(a!.isSelectionView && c!.isSelectionView).toBe(true);
    // An edit of one column through one view reaches neither the other view nor the columns not yet gathered.
    c!.offset[0] += 14;
    expect(Array.from(c!.offset.subarray(0, 4))).toEqual([34, 100, 140, 260]);
    expect(Array.from(a!.offset.subarray(0, 3))).toEqual([60, 220, 300]);
    expect(c!.isSelectionView).toBe(true);
    expect(c!.hasAnno('dst')).toBe(true);
    expect(c!.hasAnno('paint')).toBe(false);
    c!.anno('paint').fill(3);
    expect(Array.from(c!.anno('dst').subarray(0, 4))).toEqual([0, 14, 21, 42]);
    // A view whose count was lowered gathers only what it still has; then it splits like any batch.
    a!.count = 2;
    const [a0, a1] = a!.split(Int32Array.from([1, 0]), 2);
    expect([a0!.id[0], a1!.id[0]]).toEqual([105, 101]);
    expect(a0!.count + a1!.count).toBe(2);
    // Views merge back in packet order, annotations included (a part without one reads 0).
    const m = PacketBatch.merge(0, [c!, a0!, a1!]);
    expect(Array.from(m.id.subarray(0, m.count))).toEqual([100, 101, 102, 103, 105, 106]);
    expect(Array.from(m.anno('paint').subarray(0, m.count))).toEqual([3, 0, 3, 3, 0, 3]);
    expect(m.offset[0]).toBe(34);
    // A packet copied out of a view carries its gathered values; appending to a view keeps what it selected.
    const [x, y] = batch(4).split(Int32Array.from([0, 1, 0, 1]), 2);
    y!.copyPacketFrom(x!, 1);
    expect(Array.from(y!.id.subarray(0, y!.count))).toEqual([101, 103, 102]);
    expect(Array.from(y!.anno('dst').subarray(0, y!.count))).toEqual([7, 21, 14]);
    // Filtering a view in place.
    const [, z] = batch(6).split(Int32Array.from([0, 1, 1, 0, 1, 1]), 2);
    expect(z!.filterInPlace(Uint8Array.from([1, 0, 1, 1]))).toBe(1);
    expect(Array.from(z!.id.subarray(0, z!.count))).toEqual([101, 104, 105]);
  });

  it('merges selection views back into the source\'s order whichever columns their elements read or wrote', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 3, maxLength: 3 }), (raw, touch) => {
        const n = raw.length;
        const b = batch(n);
        for (let i = 0; i < n; i++) {
          b.tsSec[i] = 5000 + i;
          b.tsNsec[i] = 6000 + i;
          b.wireLength[i] = 60 + i;
        }
        const ports = Int32Array.from(raw);
        const kept = raw.map((p, i) => (p >= 0 ? i : -1)).filter((i) => i >= 0);
        const want = kept.map((i) => [100 + i, i * 40 + 20 + (touch[ports[i]] === 1 ? 1 : 0), 10, i * 40, 60 + i, 5000 + i, 6000 + i, i * 7, touch[ports[i]] === 2 ? 9 : 0]);
        const parts = b.split(ports, 3).filter((x): x is PacketBatch => x !== null);
        // Each output's element reads or writes a different column first, or none (0).
        parts.forEach((x) => {
          const t = touch[ports[kept.find((i) => x.id[0] === 100 + i) ?? 0]];
          if (t === 1) for (let j = 0; j < x.count; j++) x.offset[j] += 1;
          if (t === 2) x.anno('paint').fill(9, 0, x.count);
          if (t === 3) expect(x.length[0]).toBe(10);
          if (t === 4) expect(x.hasAnno('dst')).toBe(true);
        });
        const m = PacketBatch.merge(0, parts);
        expect(m.count).toBe(kept.length);
        const got = Array.from({ length: m.count }, (_, j) => [m.id[j], m.offset[j], m.length[j], m.base[j], m.wireLength[j], m.tsSec[j], m.tsNsec[j], m.anno('dst')[j], m.anno('paint')[j]]);
        expect(got).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('merges every view of a split, untouched, back into the split batch itself, without the packets it dropped', () => {
    const b = batch(8);
    const parts = b.split(Int32Array.from([1, 0, 1, 1, 2, 0, 1, 0]), 3);
    expect(PacketBatch.merge(4, parts.filter((x): x is PacketBatch => x !== null))).toBe(b);
    expect([b.seq, b.count]).toEqual([4, 8]);
    expect(Array.from(b.id.subarray(0, 8))).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect(parts.every((x) => x === null || x.count === 0)).toBe(true);
    // Packets dropped by the split stay dropped; order and annotations hold.
    const c = batch(6);
    const [x, y] = c.split(Int32Array.from([1, -1, 0, 1, -1, 0]), 2);
    const m = PacketBatch.merge(0, [y!, x!]);
    expect(m).toBe(c);
    expect(Array.from(m.id.subarray(0, m.count))).toEqual([100, 102, 103, 105]);
    expect(Array.from(m.anno('dst').subarray(0, m.count))).toEqual([0, 14, 21, 35]);
    // A view read, or one of them missing: an ordinary merge into a new batch.
    const d = batch(4);
    const [p, q, r] = d.split(Int32Array.from([0, 1, 2, 1]), 3);
    expect(q!.length[0]).toBe(10);
    const m2 = PacketBatch.merge(0, [p!, q!, r!]);
    expect(m2).not.toBe(d);
    expect(Array.from(m2.id.subarray(0, 4))).toEqual([100, 101, 102, 103]);
    const e = batch(4);
    const [s, t] = e.split(Int32Array.from([0, 1, 2, 1]), 3);
    const m3 = PacketBatch.merge(0, [s!, t!]);
    expect(m3).not.toBe(e);
    expect(Array.from(m3.id.subarray(0, 3))).toEqual([100, 101, 103]);
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
