import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadRouteFile, parseRoutes, RouteFileError, detectFormat } from '../../core/routes/load-routes.js';
import { parseClickRoute } from '../../core/routes/click-route.js';
import { formatIPv4, parseAddress, parsePrefix } from '../../core/routes/ipv4.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('route loaders', () => {
  it('text: prefix-only, gateway, port and label next hops; tabs, spaces, # and ; comments', () => {
    const l = parseRoutes(bytes('# header\n10.0.0.0/8\n\n 10.1.0.0/16\t192.0.2.1 ; note\n10.2.0.0/16 3\n10.3.0.0/16 192.0.2.2 AS65000\n10.4.0.0/16 eth0\n1.2.3.4\n2001:db8::/32 ::1\n'), 'x.txt');
    expect(l.format).toBe('text');
    const f = l.fibs[0];
    expect(f.count).toBe(6);
    expect(l.skippedV6).toBe(1);
    const hop = (i: number) => l.nextHops[f.hop[i]];
    expect(hop(0)).toEqual({});
    expect(hop(1)).toEqual({ gateway: parseAddress('192.0.2.1') });
    expect(hop(2)).toEqual({ port: 3 });
    expect(hop(3)).toEqual({ gateway: parseAddress('192.0.2.2'), label: 'AS65000' });
    expect(hop(4)).toEqual({ label: 'eth0' });
    expect([f.prefix[5] >>> 0, f.len[5]]).toEqual([parseAddress('1.2.3.4'), 32]);
  });

  it('bad lines name file:line, or are counted and skipped with skipBad', () => {
    const text = '10.0.0.0/8 1.1.1.1\n10.0.0/8 1.1.1.1\n10.0.0.0/33\n300.0.0.0/8\n10.0.0.0/8 a b c\n11.0.0.0/8\n';
    expect(() => parseRoutes(bytes(text), 'r.txt')).toThrow(RouteFileError);
    expect(() => parseRoutes(bytes(text), 'r.txt')).toThrow(/^r\.txt:2: bad prefix '10\.0\.0\/8'/);
    const l = parseRoutes(bytes(text), 'r.txt', { skipBad: true });
    expect(l.skipped).toBe(4);
    expect(l.skippedMessages).toEqual([
      "r.txt:2: bad prefix '10.0.0/8'",
      "r.txt:3: bad prefix '10.0.0.0/33'",
      "r.txt:4: bad prefix '300.0.0.0/8'",
      "r.txt:5: expected 'prefix [nexthop [label]]', got 4 fields",
    ]);
    expect(l.fibs[0].count).toBe(2);
    expect(() => parseRoutes(bytes(text), 'r.txt', { format: 'nope' as 'text' })).toThrow();
  });

  it('host bits are masked', () => {
    const l = parseRoutes(bytes('10.1.2.3/8 1.1.1.1\n'), 'h.txt');
    expect(formatIPv4(l.fibs[0].prefix[0])).toBe('10.0.0.0');
  });

  it('DPDK l3fwd file: 16 /24 routes to ports 0..15', () => {
    const l = loadRouteFile(path.join(DATA, 'vectors/dpdk/l3fwd_lpm_default_v4.cfg'));
    expect(l.format).toBe('l3fwd');
    const f = l.fibs[0];
    expect(f.count).toBe(16);
    for (let i = 0; i < 16; i++) {
      expect(formatIPv4(f.prefix[i])).toBe(`198.18.${i}.0`);
      expect(f.len[i]).toBe(24);
      expect(l.nextHops[f.hop[i]]).toEqual({ port: i });
    }
    expect(() => parseRoutes(bytes('R10.0.0.0/8 x\n'), 'l.cfg')).toThrow(/l\.cfg:1: bad port 'x'/);
  });

  it('Click route files: ADDR/LEN [GW] OUT and ADDR/MASK', () => {
    const l = parseRoutes(bytes('18.26/16 1.0.0.1 0\n10.0.0.0/255.255.0.0 2, 0.0.0.0/0 3\n// comment\n'), 'c.click', { format: 'click' });
    const f = l.fibs[0];
    expect(f.count).toBe(3);
    expect([formatIPv4(f.prefix[0]), f.len[0], l.nextHops[f.hop[0]]]).toEqual(['18.26.0.0', 16, { gateway: parseAddress('1.0.0.1'), port: 0 }]);
    expect([formatIPv4(f.prefix[1]), f.len[1], l.nextHops[f.hop[1]]]).toEqual(['10.0.0.0', 16, { port: 2 }]);
    expect(() => parseRoutes(bytes('1.0.0.0/8 1.1.1.1\n10.0.0.0/255.0.255.0 1\n'), 'c.click', { format: 'click' })).toThrow(/c\.click:1: missing output port/);
    expect(parseClickRoute('10.0.0.0/255.0.255.0 1')).toBe("mask '255.0.255.0' is not contiguous");
    expect(parsePrefix('18.26.0/12')).toEqual({ prefix: parseAddress('18.16.0.0'), len: 12 });
  });

  it('bgpdump -m: one FIB per peer; peer AS1853 equals the FIB derived from it', () => {
    const l = loadRouteFile(path.join(DATA, 'routes/ris-bview.20020722.2337.bgpdump-m.txt.gz'));
    expect(detectFormat(bytes('TABLE_DUMP|1|B|1.2.3.4|1|1.0.0.0/8|1|IGP|1.2.3.4|0|0||NAG||\n'))).toBe('bgpdump');
    const peer = l.fibs.find((f) => f.name === '193.203.0.1 AS1853');
    expect(peer).toBeDefined();
    const derived = loadRouteFile(path.join(DATA, 'routes/ris-2002-AS1853.fib.txt.gz'));
    const d = derived.fibs[0];
    expect(peer!.count).toBe(d.count);
    const want = new Map<string, number | undefined>();
    for (let i = 0; i < d.count; i++) want.set(`${d.prefix[i]}/${d.len[i]}`, derived.nextHops[d.hop[i]].gateway);
    for (let i = 0; i < peer!.count; i++) expect(l.nextHops[peer!.hop[i]].gateway).toBe(want.get(`${peer!.prefix[i]}/${peer!.len[i]}`));
    expect(() => parseRoutes(bytes('TABLE_DUMP|1|B|1.2.3.4\n'), 'b.txt')).toThrow(/b\.txt:1: expected a bgpdump -m TABLE_DUMP line/);
  });
});
