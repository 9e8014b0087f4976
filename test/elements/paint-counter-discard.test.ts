import { describe, expect, it } from 'vitest';
import { Paint } from '../../elements/paint.js';
import { Counter } from '../../elements/counter.js';
import { Discard } from '../../elements/discard.js';
import { HandlerError } from '../../core/handlers.js';
import { args, batchOf, make } from './helpers.js';

const three = () => batchOf([new Uint8Array(10), new Uint8Array(20), new Uint8Array(30)]);

describe('Paint', () => {
  it('sets the paint annotation, or the one ANNO names (vrf for multi-FIB lookup)', () => {
    const [a] = make(Paint, ['7']).process(three());
    expect(Array.from(a!.anno('paint').subarray(0, 3))).toEqual([7, 7, 7]);
    const p = make(Paint, ['2', 'ANNO vrf']);
    const [b] = p.process(three());
    expect(Array.from(b!.anno('vrf').subarray(0, 3))).toEqual([2, 2, 2]);
    expect(b!.hasAnno('paint')).toBe(false);
    expect(make(Paint, ['3', 'vrf']).config.ANNO).toBe('vrf');
  });

  it('color handler reads, writes (validated) and counts', () => {
    const p = make(Paint, ['1']);
    const h = p.handlers();
    h.color.write!('42');
    expect(h.color.read!()).toBe('42');
    expect(p.process(three())[0]!.anno('paint')[2]).toBe(42);
    expect(() => h.color.write!('-1')).toThrow(HandlerError);
    expect(() => h.color.write!('blue')).toThrow(/color: bad value 'blue'/);
    expect(h.count.read!()).toBe('3');
  });

  it('rejects bad config with its location', () => {
    expect(() => Paint.parseConfig(args())).toThrow(/bad COLOR/);
    expect(() => Paint.parseConfig(args('1', 'ANNO 9x'))).toThrow(/t\.click:1:15: bad ANNO/);
  });
});

describe('Counter', () => {
  it('counts packets and bytes; reset zeroes', () => {
    const c = make(Counter);
    c.process(three());
    c.process(three());
    const h = c.handlers();
    expect(h.count.read!()).toBe('6');
    expect(h.byte_count.read!()).toBe('120');
    h.reset.write!('');
    expect(h.count.read!()).toBe('0');
    expect(h.byte_count.read!()).toBe('0');
    expect(h.rate.read!()).toBe('0');
  });

  it('rate is packets per second over the recent window', () => {
    const c = make(Counter, ['WINDOW 1000']);
    let t = 0;
    c.now = () => t;
    expect(c.handlers().rate.read!()).toBe('0');
    for (let k = 0; k < 30; k++) {
      t = k * 100; // a 3-packet, 60-byte batch every 100 ms: 30 pkt/s, 600 B/s
      c.process(three());
    }
    expect(c.handlers().rate.read!()).toBe('30');
    expect(c.handlers().byte_rate.read!()).toBe('600');
    // The rate follows a change within the window.
    for (let k = 30; k < 45; k++) {
      t = k * 100;
      c.process(three());
      c.process(three());
    }
    expect(c.handlers().rate.read!()).toBe('60');
    t += 5000; // nothing arrived for longer than the window
    expect(c.handlers().rate.read!()).toBe('0');
    expect(c.summary()).toMatchObject({ count: 180, byte_count: 3600 });
  });
});

describe('Discard', () => {
  it('consumes and counts; reset_counts zeroes', () => {
    const d = make(Discard);
    expect(d.process(three())).toEqual([]);
    expect(d.handlers().count.read!()).toBe('3');
    expect(d.handlers().byte_count.read!()).toBe('60');
    d.handlers().reset_counts.write!('');
    expect(d.summary()).toEqual({ count: 0, byte_count: 0 });
    expect(() => Discard.parseConfig(args('1'))).toThrow(/takes no arguments/);
  });
});
