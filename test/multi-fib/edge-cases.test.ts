import { describe, expect, it } from 'vitest';
import { MultiFib, RouteConflictError } from '../../core/structures/multi-fib/multi-fib.js';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { parseAddress } from '../../core/routes/ipv4.js';
import { NaiveLpm, rng } from './naive-lpm.js';
import { checkAgainstNaive } from './check.js';

const ip = (s: string): number => {
  const a = parseAddress(s);
  if (a === null) throw new Error(s);
  return a;
};
const look = (f: MultiFib, fib: number, a: string): number => lookupImage(f.image, fib, ip(a));

/** Addresses around every interesting boundary of the given routes. */
function boundaryAddresses(routes: [number, number][], extra: number[] = []): Int32Array {
  const out: number[] = [...extra];
  for (const [p, len] of routes) {
    const size = 2 ** (32 - len);
    for (const a of [p, p + size - 1, p - 1, p + size, p + (size >>> 1), p + 255, p + 256, p + 65535, p + 65536]) out.push(a >>> 0);
  }
  return Int32Array.from(out, (a) => a | 0);
}

describe('MultiFib edge cases', () => {
  it('an empty FIB answers nothing; /0 answers everything; /32 answers one address', () => {
    const f = new MultiFib(['a']);
    expect(look(f, 0, '1.2.3.4')).toBe(-1);
    f.addRoute(0, 0, 0, 7);
    expect(look(f, 0, '0.0.0.0')).toBe(7);
    expect(look(f, 0, '255.255.255.255')).toBe(7);
    f.addRoute(0, ip('10.1.2.3'), 32, 9);
    expect(look(f, 0, '10.1.2.3')).toBe(9);
    expect(look(f, 0, '10.1.2.2')).toBe(7);
    expect(look(f, 0, '10.1.2.4')).toBe(7);
    f.removeRoute(0, 0, 0);
    expect(look(f, 0, '10.1.2.2')).toBe(-1);
    expect(look(f, 0, '10.1.2.3')).toBe(9);
    expect(f.lookup(0, ip('10.1.2.3'))).toEqual({ prefix: ip('10.1.2.3'), len: 32, nextHop: 9 });
  });

  it('add of an existing prefix is a conflict (host bits masked); replace overwrites', () => {
    const f = new MultiFib();
    f.addRoute(0, ip('18.26.0.0'), 12, 1);
    expect(() => f.addRoute(0, ip('18.16.0.0'), 12, 2)).toThrow(RouteConflictError);
    expect(f.replace(0, ip('18.26.4.9'), 12, 3)).toBe(1);
    expect(look(f, 0, '18.31.255.255')).toBe(3);
    expect(f.removeRoute(0, ip('1.0.0.0'), 8)).toBe(-1);
    expect(() => f.applyChanges([{ op: 'remove', fib: 0, prefix: ip('1.0.0.0'), len: 8 }])).toThrow(/not found/);
  });

  it('nested and overlapping routes across /16 and /24 boundaries match a naive LPM', () => {
    const f = new MultiFib();
    const naive = new NaiveLpm();
    const routes: [string, number][] = [
      ['10.0.0.0', 8], ['10.0.0.0', 15], ['10.1.0.0', 16], ['10.1.0.0', 17], ['10.1.128.0', 24], ['10.1.255.0', 24],
      ['10.1.255.128', 25], ['10.1.255.255', 32], ['10.2.0.0', 23], ['10.3.255.0', 24], ['10.4.0.0', 14], ['10.4.0.0', 30],
      ['11.0.0.0', 16], ['11.0.1.0', 24], ['11.0.1.0', 26], ['11.0.1.64', 26], ['11.0.1.0', 32], ['192.168.0.0', 16], ['0.0.0.0', 1],
    ];
    routes.forEach(([p, len], i) => {
      f.addRoute(0, ip(p), len, i);
      naive.set(0, ip(p), len, i);
    });
    const addrs = boundaryAddresses(routes.map(([p, len]) => [ip(p), len]));
    checkAgainstNaive(f, naive, [0], addrs);
    // Delete restores the covering route, one by one.
    for (let i = routes.length - 1; i >= 0; i -= 2) {
      f.removeRoute(0, ip(routes[i][0]), routes[i][1]);
      naive.delete(0, ip(routes[i][0]), routes[i][1]);
      checkAgainstNaive(f, naive, [0], addrs);
    }
  });

  it('FIBs are created and deleted at runtime; indices are stable and slots reused', () => {
    const f = new MultiFib(['red', 'green']);
    const naive = new NaiveLpm();
    f.addRoute(0, ip('10.0.0.0'), 8, 1);
    naive.set(0, ip('10.0.0.0'), 8, 1);
    f.addRoute(1, ip('10.0.0.0'), 8, 2);
    naive.set(1, ip('10.0.0.0'), 8, 2);
    const blue = f.createFib('blue');
    expect(blue).toBe(2);
    expect(look(f, blue, '10.1.1.1')).toBe(-1);
    f.addRoute(blue, ip('10.1.0.0'), 16, 3);
    naive.set(blue, ip('10.1.0.0'), 16, 3);
    const addrs = boundaryAddresses([[ip('10.0.0.0'), 8], [ip('10.1.0.0'), 16]]);
    checkAgainstNaive(f, naive, [0, 1, 2], addrs);
    f.deleteFib(1);
    naive.dropFib(1);
    expect(f.isLive(1)).toBe(false);
    expect(() => f.lookup(1, 0)).toThrow(/no FIB 1/);
    checkAgainstNaive(f, naive, [0, 2], addrs);
    expect(f.createFib('yellow')).toBe(1);
    expect(look(f, 1, '10.1.1.1')).toBe(-1);
    checkAgainstNaive(f, naive, [0, 1, 2], addrs);
    expect(f.fibNames().map((x) => x.name)).toEqual(['red', 'yellow', 'blue']);
  });

  it('records list only the FIBs that differ from the most common answer', () => {
    const f = new MultiFib(['a', 'b', 'c', 'd']);
    for (let fib = 0; fib < 4; fib++) f.addRoute(fib, ip('20.0.0.0'), 8, fib === 2 ? 5 : 4);
    const m = f.memory();
    expect(m.records).toBe(1);
    const e = f.image[f.image[4] + (ip('20.1.0.0') >>> 16)];
    expect(e >>> 30).toBe(1);
    const r = e & 0x3fffffff;
    expect(Array.from(f.image.subarray(r, r + 4))).toEqual([4, 1, 2, 5]);
  });

  it('rejects bad arguments cleanly (DPDK scenario 1)', () => {
    const f = new MultiFib();
    expect(() => f.addRoute(0, 0, 33, 1)).toThrow(/0..32/);
    expect(() => f.addRoute(0, 0, -1, 1)).toThrow(/0..32/);
    expect(() => f.addRoute(3, 0, 8, 1)).toThrow(/no FIB 3/);
    expect(() => f.addRoute(0, 0, 8, -2)).toThrow(/next hop/);
    expect(() => f.lookup(9, 0)).toThrow(/no FIB 9/);
    expect(f.routeCount(0)).toBe(0);
  });

  it('DPDK depth walk: 128.0.0.0/1..32 added then deleted from 32 down (scenario 3)', () => {
    const f = new MultiFib();
    const upper = ip('128.0.0.0');
    for (let d = 1; d <= 32; d++) {
      f.addRoute(0, upper, d, d);
      expect(lookupImage(f.image, 0, upper)).toBe(d);
      expect(look(f, 0, '127.255.255.255')).toBe(-1);
    }
    for (let d = 32; d >= 1; d--) {
      f.removeRoute(0, upper, d);
      expect(lookupImage(f.image, 0, upper)).toBe(d - 1 === 0 ? -1 : d - 1);
    }
  });

  it('DPDK second-level boundaries, covering ranges, nested rules, overwrite (scenarios 2, 4, 5, 6, 9)', () => {
    const f = new MultiFib();
    // 2: one rule <= 24 and one > 24.
    f.addRoute(0, ip('10.0.0.0'), 24, 1);
    expect(look(f, 0, '10.0.0.77')).toBe(1);
    f.removeRoute(0, ip('10.0.0.0'), 24);
    expect(look(f, 0, '10.0.0.77')).toBe(-1);
    f.addRoute(0, ip('10.0.0.64'), 28, 2);
    expect(look(f, 0, '10.0.0.77')).toBe(2);
    expect(look(f, 0, '10.0.0.80')).toBe(-1);
    // 4/5: a covering /24 over the extended entry, then next-hop updates at both levels.
    f.addRoute(0, ip('10.0.0.0'), 24, 3);
    expect(look(f, 0, '10.0.0.77')).toBe(2);
    expect(look(f, 0, '10.0.0.80')).toBe(3);
    f.replace(0, ip('10.0.0.64'), 28, 4);
    f.replace(0, ip('10.0.0.0'), 24, 5);
    expect(look(f, 0, '10.0.0.77')).toBe(4);
    expect(look(f, 0, '10.0.0.80')).toBe(5);
    // Deleting a rule that is not there changes nothing.
    const gen = f.generation;
    expect(f.removeRoute(0, ip('10.0.0.128'), 25)).toBe(-1);
    expect(f.generation).toBe(gen);
    // 6: nested rules, delete the less specific, add an even more specific.
    f.removeRoute(0, ip('10.0.0.0'), 24);
    expect(look(f, 0, '10.0.0.77')).toBe(4);
    expect(look(f, 0, '10.0.0.80')).toBe(-1);
    f.addRoute(0, ip('10.0.0.77'), 32, 6);
    expect(look(f, 0, '10.0.0.77')).toBe(6);
    expect(look(f, 0, '10.0.0.78')).toBe(4);
    // 9: a /32 then a /24 over it.
    f.addRoute(0, ip('30.0.0.5'), 32, 7);
    f.addRoute(0, ip('30.0.0.0'), 24, 8);
    expect(look(f, 0, '30.0.0.5')).toBe(7);
    expect(look(f, 0, '30.0.0.6')).toBe(8);
  });

  it('DPDK churn and recycling: second-level nodes are freed and reused (scenarios 7, 10)', () => {
    const f = new MultiFib();
    const base = ip('40.1.2.0');
    const cycle = (withCover: boolean): void => {
      for (let i = 0; i < 1000; i++) {
        f.addRoute(0, base + 17, 32, 100);
        expect(lookupImage(f.image, 0, base + 17)).toBe(100);
        f.removeRoute(0, base + 17, 32);
        expect(lookupImage(f.image, 0, base + 17)).toBe(withCover ? 50 : -1);
      }
    };
    cycle(false);
    const words = f.image.length;
    f.addRoute(0, base, 24, 50);
    cycle(true);
    expect(f.image.length).toBeLessThanOrEqual(words + 65536 + 1024);
    // 10: a /28 and a /23 sharing its 24-bit prefix; the /28's node is freed and reused.
    f.removeRoute(0, base, 24);
    f.addRoute(0, ip('40.1.2.0'), 23, 60);
    const before = f.image.length;
    for (let i = 0; i < 100; i++) {
      f.addRoute(0, ip('40.1.2.16'), 28, 61);
      expect(look(f, 0, '40.1.2.20')).toBe(61);
      expect(look(f, 0, '40.1.3.20')).toBe(60);
      f.removeRoute(0, ip('40.1.2.16'), 28);
      expect(look(f, 0, '40.1.2.20')).toBe(60);
    }
    expect(f.image.length).toBe(before);
    // Only the level-1 node for 40.1/16 remains: the /28's level-2 node was freed.
    expect(f.memory().nodes).toBe(1);
  });

  it('random routes in a few /16s, many FIBs, match the naive LPM after every batch of changes', () => {
    const next = rng(7);
    const fibs = 5;
    const f = new MultiFib(['f0', 'f1', 'f2', 'f3', 'f4']);
    const naive = new NaiveLpm();
    const pool: [number, number][] = [];
    for (let i = 0; i < 300; i++) {
      const len = [0, 4, 8, 12, 15, 16, 17, 20, 23, 24, 25, 28, 31, 32][next() % 14];
      const hi = [0x0a00, 0x0a01, 0x0aff, 0xc0a8][next() % 4];
      const p = (((hi << 16) | (next() & 0xffff)) & NaiveLpm.mask(len)) >>> 0;
      pool.push([p, len]);
    }
    const addrs = boundaryAddresses(pool);
    for (let round = 0; round < 20; round++) {
      f.beginUpdate();
      for (let j = 0; j < 40; j++) {
        const [p, len] = pool[next() % pool.length];
        const fib = next() % fibs;
        if (next() % 3 === 0) {
          f.removeRoute(fib, p, len);
          naive.delete(fib, p, len);
        } else {
          const nh = next() % 6;
          f.replace(fib, p, len, nh);
          naive.set(fib, p, len, nh);
        }
      }
      f.commitUpdate();
      checkAgainstNaive(f, naive, [0, 1, 2, 3, 4], addrs, 7);
    }
  });
});
