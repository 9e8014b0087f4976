import { describe, expect, it } from 'vitest';
import { Queue } from '../../elements/queue.js';
import { HandlerError } from '../../core/handlers.js';
import { batchOf, contents, ids, make } from './helpers.js';

/** n one-byte packets whose byte is their id (mod 256), ids starting at `first`. */
function pkts(first: number, n: number, seq: number) {
  return batchOf(
    Array.from({ length: n }, (_, k) => Uint8Array.of((first + k) & 0xff)),
    { firstId: first, seq },
  );
}

describe('Queue', () => {
  it('drains every tick by default and drops the tail beyond CAPACITY', () => {
    const q = make(Queue, ['3']);
    const b = pkts(0, 5, 0);
    const [out] = q.process(b);
    expect(out).toBe(b); // no copy when everything leaves at once
    expect(ids(out)).toEqual([0, 1, 2]);
    const h = q.handlers();
    expect(h.drops.read!()).toBe('2');
    expect(h.length.read!()).toBe('0');
    expect(h.highwater_length.read!()).toBe('3');
    expect(q.flush(1)).toEqual([]);
  });

  it('with BURST holds packets across ticks and emits them in id order, then flushes', () => {
    const q = make(Queue, ['10', 'BURST 2']);
    const seen: number[] = [];
    const bytes: number[][] = [];
    for (let t = 0; t < 4; t++) {
      const [out] = q.process(pkts(t * 4, 4, t));
      expect(out!.seq).toBe(t);
      expect(out!.count).toBe(2);
      seen.push(...ids(out));
      bytes.push(...contents(out));
    }
    expect(q.handlers().length.read!()).toBe('8');
    expect(q.handlers().highwater_length.read!()).toBe('10');
    const [rest] = q.flush(4);
    expect(rest!.seq).toBe(4);
    seen.push(...ids(rest));
    bytes.push(...contents(rest));
    // Held after each tick: 2, 4, 6, 8 (10 at most before release), so nothing was refused.
    expect(q.handlers().drops.read!()).toBe('0');
    expect(seen).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(bytes).toEqual(seen.map((i) => [i]));
    expect(q.handlers().length.read!()).toBe('0');
  });

  it('holds its own copy: a source reusing its arena cannot change held packets', () => {
    const q = make(Queue, ['10', 'BURST 1']);
    const b = pkts(0, 3, 0);
    q.process(b);
    b.data.fill(0xee);
    const [out] = q.flush(1);
    expect(contents(out)).toEqual([[1], [2]]);
    expect(out!.data).not.toBe(b.data);
  });

  it('counts drops exactly and keeps packets when capacity shrinks below length', () => {
    const q = make(Queue, ['6', 'BURST 1']);
    q.process(pkts(0, 4, 0)); // holds 3
    const h = q.handlers();
    h.capacity.write!('2');
    expect(h.capacity.read!()).toBe('2');
    const [out] = q.process(pkts(4, 3, 1)); // full: all 3 refused, one leaves
    expect(ids(out)).toEqual([1]);
    expect(h.length.read!()).toBe('2');
    expect(h.drops.read!()).toBe('3');
    h.reset_counts.write!('');
    expect(h.drops.read!()).toBe('0');
    expect(h.highwater_length.read!()).toBe('2');
    expect(ids(q.flush(2)[0])).toEqual([2, 3]);
  });

  it('validates capacity writes and config', () => {
    const q = make(Queue);
    expect(q.handlers().capacity.read!()).toBe('1000');
    expect(() => q.handlers().capacity.write!('0')).toThrow(HandlerError);
    expect(() => q.handlers().capacity.write!('lots')).toThrow(/capacity: bad value 'lots'/);
    expect(() => make(Queue, ['BURST 0'])).toThrow(/bad BURST/);
  });

  it('keeps annotations of held packets', () => {
    const q = make(Queue, ['BURST 1']);
    const b = pkts(0, 2, 0);
    b.anno('vrf')[0] = 5;
    b.anno('vrf')[1] = 6;
    expect(q.process(b)[0]!.anno('vrf')[0]).toBe(5);
    expect(q.flush(1)[0]!.anno('vrf')[0]).toBe(6);
  });
});
