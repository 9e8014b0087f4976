import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KEY_WORDS, KEY_HAS_PORTS } from '../../core/flows/flow-key.js';
import { FLOW_DROPPED, FLOW_UNTRACKED, FlowTable } from '../../core/structures/flow-table/flow-table.js';
import { FlowLayout } from '../../core/structures/flow-table/flow-fields.js';
import { FLOW_MISS, flowLookup } from '../../core/structures/flow-table/flow-table-image.js';
import { applyDeltaToImage } from '../../core/structures/image.js';

/** A UDP or TCP IPv4 key for flow number n. */
function key(n: number, proto = 17): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[0] = 0x0a000000 + (n >>> 8);
  k[4] = 0xc0a80000 + (n & 0xff);
  k[8] = ((1024 + (n % 50000)) << 16) | 53;
  k[9] = (4 << 8) | proto | KEY_HAS_PORTS;
  return k;
}

const SYN = 0x02;
const SYNACK = 0x12;
const ACK = 0x10;

describe('FlowTable', () => {
  it('inserts once, hits after, and the pure lookup over the image agrees with the writer', () => {
    const t = new FlowTable({ capacity: 1000 });
    const ids: number[] = [];
    for (let n = 0; n < 1000; n++) ids.push(t.classify(key(n), 0, false, 100, 0, 0));
    expect(new Set(ids).size).toBe(1000);
    expect(t.counters).toMatchObject({ size: 1000, inserts: 1000, lookups: 1000, hits: 0 });
    for (let n = 0; n < 1000; n++) expect(t.classify(key(n), 0, false, 101, 0, 0)).toBe(ids[n]);
    expect(t.counters.hits).toBe(1000);
    const keys = new Uint32Array(1100 * KEY_WORDS);
    for (let n = 0; n < 1100; n++) keys.set(key(n), n * KEY_WORDS);
    const out = new Int32Array(1100);
    flowLookup(t.image, keys, 1100, out);
    for (let n = 0; n < 1000; n++) expect(out[n]).toBe(ids[n]);
    for (let n = 1000; n < 1100; n++) expect(out[n]).toBe(FLOW_MISS);
  });

  it('expires idle flows by packet time, per protocol and TCP state', () => {
    const t = new FlowTable({ capacity: 64, sweepSeconds: 1 });
    const ended: string[] = [];
    t.onEnd = (e, why) => ended.push(`${t.image[t.base(e) + 1 + 8] & 0xffff}:${why}`);
    const udp = key(1, 17);
    const half = key(2, 6); // SYN only: the handshake timeout (5 s)
    const est = key(3, 6); // SYN, SYN-ACK, ACK: established (300 s)
    t.classify(udp, 0, false, 0, 0, 0);
    t.classify(half, 0, false, 0, 0, SYN);
    t.classify(est, 0, false, 0, 0, SYN);
    t.classify(est, 0, true, 0, 1000, SYNACK);
    t.classify(est, 0, false, 0, 2000, ACK);
    expect(t.counters.size).toBe(3);
    // A packet of another flow at t=10 s: the sweep has visited every bucket; only the half-open TCP flow is gone.
    t.classify(key(9, 17), 0, false, 10, 0, 0);
    expect(t.counters.expirations).toBe(1);
    expect(t.find(half, 0)).toBe(FLOW_MISS);
    t.classify(key(9, 17), 0, false, 70, 0, 0);
    expect(t.find(udp, 0)).toBe(FLOW_MISS);
    expect(t.find(est, 0)).not.toBe(FLOW_MISS);
    t.classify(key(9, 17), 0, false, 301, 0, 0);
    expect(t.find(est, 0)).toBe(FLOW_MISS);
    // key 9 itself idled 231 s (UDP: 60 s) between its last two packets.
    expect(t.counters.expirations).toBe(4);
    expect(ended.every((s) => s.endsWith(':expired'))).toBe(true);
  });

  it('a flow that idled out starts again as a new flow (expiry on lookup)', () => {
    const t = new FlowTable({ capacity: 8, sweepSeconds: 1e9 });
    const a = t.classify(key(1), 0, false, 0, 0, 0);
    expect(t.classify(key(1), 0, false, 61, 0, 0)).toBe(a);
    expect(t.lastNew).toBe(true);
    expect(t.counters).toMatchObject({ inserts: 2, expirations: 1, size: 1 });
  });

  it.each(['drop', 'pass', 'evict'] as const)('full with policy %s: never above capacity, every packet accounted for', (policy) => {
    const t = new FlowTable({ capacity: 100, policy });
    let dropped = 0;
    let passed = 0;
    for (let n = 0; n < 500; n++) {
      const r = t.classify(key(n), 0, false, n * 0.001, 0, 0);
      if (r === FLOW_DROPPED) dropped++;
      else if (r === FLOW_UNTRACKED) passed++;
      expect(t.counters.size).toBeLessThanOrEqual(100);
    }
    expect(t.counters.size).toBe(100);
    expect(t.counters.inserts).toBe(100 + (policy === 'evict' ? 400 : 0));
    expect(dropped).toBe(policy === 'drop' ? 400 : 0);
    expect(passed).toBe(policy === 'pass' ? 400 : 0);
    expect(t.counters.drops_full).toBe(dropped);
    expect(t.counters.passed_full).toBe(passed);
    expect(t.counters.evictions).toBe(policy === 'evict' ? 400 : 0);
    // Evict keeps the most recent flows.
    if (policy === 'evict') expect(t.find(key(499), 0)).not.toBe(FLOW_MISS);
  });

  it('a SYN flood stays inside the cap and its half-open flows leave after the handshake timeout', () => {
    const t = new FlowTable({ capacity: 1000, policy: 'evict', sweepSeconds: 1 });
    const bytes = t.bytes;
    for (let n = 0; n < 50_000; n++) {
      t.classify(key(n, 6), 0, false, n * 1e-4, 0, SYN);
      if ((n & 1023) === 0) expect(t.counters.size).toBeLessThanOrEqual(1000);
    }
    expect(t.bytes).toBe(bytes);
    // 7 s later (past the 5 s handshake timeout, plus a sweep) nothing of the flood is left.
    t.classify(key(999_999, 17), 0, false, 5 + 7, 0, 0);
    expect(t.counters.size).toBe(1);
  });

  it('deltas keep a mirror identical to the image (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 100 })), { minLength: 1, maxLength: 400 }), (ops) => {
        const layout = new FlowLayout();
        const f = layout.declare('nat', [{ name: 'port', type: 'u32' }, { name: 'bytes', type: 'u64' }]);
        const t = new FlowTable({ capacity: 64, layout, sweepSeconds: 5 });
        let { image: mirror } = t.snapshot();
        let time = 0;
        for (const [n, dt] of ops) {
          time += dt / 10;
          const e = t.classify(key(n), 0, false, Math.floor(time), Math.round((time % 1) * 1e9), 0);
          if (e >= 0) t.add(e, f.bytes, 3_000_000_000);
          if (n % 7 === 0) mirror = applyDeltaToImage(mirror, t.takeDelta());
        }
        mirror = applyDeltaToImage(mirror, t.takeDelta());
        expect(mirror).toEqual(t.image);
      }),
      { numRuns: 50 },
    );
  });

  it('flow-local fields are typed words of the entry', () => {
    const layout = new FlowLayout();
    const a = layout.declare('a', [{ name: 'u', type: 'u32' }, { name: 'i', type: 'i32' }, { name: 'f', type: 'f32' }, { name: 'big', type: 'u64' }]);
    const b = layout.declare('b', [{ name: 'x', type: 'u32' }]);
    expect(() => layout.declare('a', [])).toThrow(/declared twice/);
    const t = new FlowTable({ capacity: 4, layout });
    expect(() => layout.declare('c', [])).toThrow(/after the flow table was built/);
    const e = t.classify(key(1), 0, false, 0, 0, 0);
    t.set(e, a.u, 0xfffffffe);
    t.set(e, a.i, -5);
    t.set(e, a.f, 1.5);
    t.set(e, a.big, 2 ** 40 + 7);
    t.add(e, a.big, 2 ** 33);
    t.set(e, b.x, 9);
    expect([t.get(e, a.u), t.get(e, a.i), t.get(e, a.f), t.get(e, a.big), t.get(e, b.x)]).toEqual([0xfffffffe, -5, 1.5, 2 ** 40 + 2 ** 33 + 7, 9]);
    expect(t.entryWords).toBe(layout.entryWords);
    // A new flow in the slot starts with zeroed fields.
    const e2 = t.classify(key(1), 0, false, 1000, 0, 0);
    expect(e2).toBe(e);
    expect(t.get(e, a.big)).toBe(0);
  });
});
