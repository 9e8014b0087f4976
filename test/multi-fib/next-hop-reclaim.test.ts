/**
 * Next hops no route uses are reclaimed: add/remove churn through many unique gateways leaves
 * the next-hop table at its baseline, lookups stay exact while indices are reused, and a
 * reused index is never one an image of the previous generation still names.
 */
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { IPLookup } from '../../elements/ip-lookup.js';
import { PacketBatch } from '../../core/packet-batch.js';
import type { ConfigArgs } from '../../core/config/args.js';
import { formatIPv4, parseAddress } from '../../core/routes/ipv4.js';
import { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';

const loc = { file: 't.click', line: 1, column: 1 };
const args = (...list: string[]): ConfigArgs => ({ loc, list: list.map((raw, i) => ({ raw, value: raw, loc: { ...loc, column: 10 + i } })) });

function element(routes: string[]): IPLookup {
  return new IPLookup({
    name: 'rt',
    config: IPLookup.parseConfig(args(...routes)),
    env: { baseDir: os.tmpdir(), log: { info: () => {}, warn: () => {} }, strictBackends: false, backend: () => Promise.reject(new Error('none')) },
    ninputs: 1,
    noutputs: 2,
  });
}

const gw = (i: number): string => formatIPv4((0x0a000000 + i) >>> 0);

describe('next-hop reclamation', () => {
  it('churn through 20,000 unique gateways returns the table to its baseline', () => {
    const e = element(['0.0.0.0/0 0', '192.0.2.0/24 198.51.100.1 1']);
    const h = e.handlers();
    const hops = e.multiFib.nextHops;
    const baseline = hops.live;
    let maxSlots = hops.size;
    for (let i = 0; i < 20_000; i++) {
      const prefix = `${20 + (i % 50)}.${(i >>> 8) & 255}.${i & 255}.0/24`;
      h.add.write!(`${prefix} ${gw(i)} 1`);
      // The route answers with its own gateway, even when its index was reused.
      expect(h.lookup.read!(`${prefix.split('/')[0].replace(/0$/, '9')}`)).toBe(`1 ${gw(i)}`);
      h.remove.write!(prefix);
      maxSlots = Math.max(maxSlots, hops.size);
    }
    expect(hops.live).toBe(baseline);
    // Slots are reused: the table never held more than a handful beyond the baseline.
    expect(maxSlots).toBeLessThan(baseline + 8);
    // Refused changes do not leave their interned next hops behind either.
    for (let i = 0; i < 1000; i++) expect(() => h.add.write!(`192.0.2.0/24 ${gw(50_000 + i)} 1`)).toThrow(/conflict/);
    h.set.write!('192.0.2.0/24 198.51.100.1 1');
    expect(hops.live).toBe(baseline);
    // Packets get the gateway of the route that matched them, through the element's gateway cache.
    h.add.write!(`203.0.113.0/24 ${gw(7)} 1`);
    const b = new PacketBatch({ seq: 0, capacity: 1, data: new Uint8Array(64), linkType: 101 });
    b.data[0] = 0x45;
    b.data.set([203, 0, 113, 5], 16);
    b.length[0] = 20;
    b.count = 1;
    const out = e.process(b) as (PacketBatch | null)[];
    expect(formatIPv4(out[1]!.anno('dst')[0])).toBe(gw(7));
  });

  it('a freed index is not reused until a later generation has been published', () => {
    const fib = new MultiFib(['a']);
    const hops = fib.nextHops;
    const p = parseAddress('10.0.0.0')!;
    const a = hops.intern({ gateway: 1 });
    fib.addRoute(0, p, 8, a);
    const imageWithA = fib.image.slice();
    fib.removeRoute(0, p, 8);
    expect(hops.has(a)).toBe(false);
    // The image before the removal still names `a`: the very next intern must not take it.
    const b = hops.intern({ gateway: 2 });
    expect(b).not.toBe(a);
    expect(lookupImage(imageWithA, 0, p)).toBe(a);
    fib.addRoute(0, p, 8, b);
    // One more generation later the slot comes back.
    const c = hops.intern({ gateway: 3 });
    expect(c).toBe(a);
  });
});
