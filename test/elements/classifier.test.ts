import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { Classifier, classifyBatch, compileClassifier } from '../../elements/classifier.js';
import { ConfigError } from '../../core/config/source-location.js';
import { args, batchOf, contents, DATA, etherFrame, ids, ipv4Packet, make, readPcap } from './helpers.js';

/** Straightforward reading of Click's pattern text, to check the compiled program against. */
function referenceMatch(pattern: string, pkt: Uint8Array): boolean {
  if (pattern.trim() === '-') return true;
  return pattern
    .trim()
    .split(/\s+/)
    .every((clause) => {
      const neg = clause.startsWith('!');
      const [off, rest] = (neg ? clause.slice(1) : clause).split('/');
      const [value, mask] = rest.split('%');
      let ok = true;
      for (let b = 0; b < value.length / 2; b++) {
        const at = Number(off) + b;
        if (at >= pkt.length) {
          ok = false;
          break;
        }
        for (let h = 0; h < 2; h++) {
          const vc = value[2 * b + h];
          if (vc === '?') continue;
          const m = mask ? parseInt(mask[2 * b + h], 16) : 0xf;
          const nib = h === 0 ? pkt[at] >> 4 : pkt[at] & 15;
          if ((nib & m) !== (parseInt(vc, 16) & m)) ok = false;
        }
      }
      return ok !== neg;
    });
}

function referenceClassify(patterns: string[], pkt: Uint8Array): number {
  return patterns.findIndex((p) => referenceMatch(p, pkt));
}

const arp = (op: number) => {
  const a = new Uint8Array(28);
  a[7] = op;
  return etherFrame(0x0806, a);
};

describe('Classifier', () => {
  it("routes Click's example 12/0800, 12/0806 20/0002, - and counts", () => {
    const pkts = [etherFrame(0x0800, ipv4Packet()), arp(2), arp(1), etherFrame(0x86dd, new Uint8Array(40)), etherFrame(0x0800, ipv4Packet())];
    const c = make(Classifier, ['12/0800', '12/0806 20/0002', '-'], 3);
    expect(Classifier.outputsFor(c.config)).toBe(3);
    const out = c.process(batchOf(pkts));
    expect(ids(out[0])).toEqual([0, 4]);
    expect(ids(out[1])).toEqual([1]);
    expect(ids(out[2])).toEqual([2, 3]);
    const h = c.handlers();
    expect(h.count.read!()).toBe('5');
    expect(h.drops.read!()).toBe('0');
    expect(h.pattern1.read!()).toBe('12/0806 20/0002');
    expect(c.summary()).toMatchObject({ output0: 2, output1: 1, output2: 2 });
  });

  it('drops and counts packets that match no pattern; reset_counts zeroes', () => {
    const c = make(Classifier, ['12/0800'], 1);
    const out = c.process(batchOf([arp(1), etherFrame(0x0800, ipv4Packet()), arp(2)]));
    expect(ids(out[0])).toEqual([1]);
    expect(c.handlers().drops.read!()).toBe('2');
    c.handlers().reset_counts.write!('');
    expect(c.handlers().drops.read!()).toBe('0');
    expect(c.handlers().count.read!()).toBe('0');
  });

  it('supports masks, ? nibbles and negation', () => {
    // 0/4? is IPv4 version nibble with any IHL; 0/40%f0 the same with a mask; !9/06 non-TCP.
    const tcp = ipv4Packet({ proto: 6 });
    const udp = ipv4Packet({ proto: 17 });
    const v6 = new Uint8Array(40);
    v6[0] = 0x60;
    const c = make(Classifier, ['0/4? 9/06', '0/40%f0 !9/06', '-'], 3);
    const out = c.process(batchOf([tcp, udp, v6]));
    expect(ids(out[0])).toEqual([0]);
    expect(ids(out[1])).toEqual([1]);
    expect(ids(out[2])).toEqual([2]);
  });

  it('a clause past the packet end does not match; its negation does', () => {
    const short = new Uint8Array(13); // one byte short of the EtherType
    short[12] = 0x08;
    const c = make(Classifier, ['12/0800', '!12/0800'], 2);
    const out = c.process(batchOf([short]));
    expect(out[0]).toBeNull();
    expect(ids(out[1])).toEqual([0]);
  });

  it('offsets count from the packet current start (after Strip)', () => {
    const b = batchOf([etherFrame(0x0800, ipv4Packet({ proto: 6 }))]);
    b.offset[0] += 14;
    b.length[0] -= 14;
    const out = make(Classifier, ['9/06', '-'], 2).process(b);
    expect(ids(out[0])).toEqual([0]);
  });

  it('matches a direct reading of the patterns on every packet of example.pcap', () => {
    const cap = readPcap(path.join(DATA, 'pcaps/pcapplusplus/example.pcap'));
    expect(cap.packets.length).toBe(4631);
    const patterns = ['12/0800 23/11', '12/0800 23/06 !47/02%02', '12/0800 26/0a', '12/86dd', '30/c0a8????', '12/0800 34/0050', '-'];
    const b = batchOf(cap.packets);
    const program = compileClassifier(patterns);
    const port = new Int32Array(b.count);
    const unmatched = classifyBatch(program, b.data, b.offset, b.length, b.count, port);
    expect(unmatched).toBe(0);
    const expected = cap.packets.map((p) => referenceClassify(patterns, p));
    expect(Array.from(port)).toEqual(expected);
    // 12/0800 23/11 picks exactly the UDP packets of the capture (139 by its README).
    expect(expected.filter((e) => e === 0).length).toBe(139);
  });

  it('agrees with the direct reading on random packets and random patterns', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const hex = '0123456789abcdef';
    for (let round = 0; round < 40; round++) {
      const patterns: string[] = [];
      for (let p = 0; p < 1 + rnd(4); p++) {
        const clauses: string[] = [];
        for (let c = 0; c < 1 + rnd(3); c++) {
          const nb = 1 + rnd(3);
          let v = '';
          let m = '';
          for (let k = 0; k < nb * 2; k++) {
            v += rnd(6) === 0 ? '?' : hex[rnd(4)];
            m += hex[rnd(16)];
          }
          clauses.push(`${rnd(3) === 0 ? '!' : ''}${rnd(12)}/${v}${rnd(2) ? `%${m}` : ''}`);
        }
        patterns.push(clauses.join(' '));
      }
      const pkts = Array.from({ length: 200 }, () => Uint8Array.from({ length: rnd(16) }, () => rnd(4) * 0x11 + (rnd(2) ? 0 : 0x10)));
      const b = batchOf(pkts);
      const port = new Int32Array(b.count);
      classifyBatch(compileClassifier(patterns), b.data, b.offset, b.length, b.count, port);
      expect(Array.from(port), patterns.join(' , ')).toEqual(pkts.map((p) => referenceClassify(patterns, p)));
    }
  });

  it('keeps packet bytes and annotations on the chosen output', () => {
    const b = batchOf([arp(2), etherFrame(0x0800, ipv4Packet())]);
    b.anno('paint')[0] = 7;
    b.anno('paint')[1] = 9;
    const out = make(Classifier, ['12/0800', '-'], 2).process(b);
    expect(contents(out[1])).toEqual([[...arp(2)]]);
    expect(out[1]!.anno('paint')[0]).toBe(7);
    expect(out[0]!.anno('paint')[0]).toBe(9);
  });

  it('rejects bad patterns with the argument location', () => {
    const bad = ['12/080', '12/0800%ff', 'x/0800', '12/08g0', '12/', '', '12/0800 -', '12:0800', '99999/00'];
    for (const p of bad) {
      let err: unknown;
      try {
        Classifier.parseConfig(args('12/0806', p));
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).loc.column, p).toBe(15);
    }
    expect(() => Classifier.parseConfig(args())).toThrow(/at least one pattern/);
  });
});
