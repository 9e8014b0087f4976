/**
 * The lean load path (issue 14 item 3): gzip route files parsed a block of lines at a time,
 * Click route lines parsed in place, and IPLookup's consuming build that turns the loaded
 * columns into the route store. Each is checked against the plain path on the same input.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadRouteFile, parseRoutes, type LoadedRoutes, type LoadOptions } from '../../core/routes/load-routes.js';
import { parseClickRoute } from '../../core/routes/click-route.js';
import { multiFibFromLoaded } from '../../core/routes/build-multi-fib.js';
import type { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-lean-loads-'));

/** Deterministic generator (LCG) so a failure reproduces. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

const ip = (r: (n: number) => number): string => `${r(256)}.${r(256)}.${r(256)}.${r(256)}`;

/** Everything a load produced, as plain data. */
function summary(l: LoadedRoutes): unknown {
  return {
    format: l.format,
    nextHops: l.nextHops,
    hopLines: l.hopLines,
    skipped: l.skipped,
    skippedV6: l.skippedV6,
    skippedMessages: l.skippedMessages,
    // Columns as base64 of their bytes: a deep equal over 100k-entry arrays is slow on a loaded machine.
    fibs: l.fibs.map((f) => ({ name: f.name, count: f.count, prefix: bytesOf(f.prefix), len: bytesOf(f.len), hop: bytesOf(f.hop) })),
  };
}

function bytesOf(a: Int32Array | Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function gz(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, gzipSync(Buffer.from(text)));
  return file;
}

/** `text` loaded through the gzip path equals parseRoutes over the whole text (file name aside). */
function expectSameAsPlain(name: string, text: string, options: LoadOptions = {}): LoadedRoutes {
  const file = gz(name, text);
  const plain = parseRoutes(Buffer.from(text), file, options);
  const streamed = loadRouteFile(file, options);
  expect(summary(streamed)).toEqual(summary(plain));
  return streamed;
}

/** The image's bytes (compared as one Buffer: a full table's 1.4M words are too many for a deep equal). */
function imageOf(m: MultiFib): Buffer {
  const w = m.image;
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

/** FIB 0's routes as three columns, in routesOf's order. */
function routesOf(m: MultiFib): Buffer {
  const r = m.routesOf(0);
  const out = new Uint32Array(3 * r.length);
  r.forEach((x, i) => out.set([x.prefix, x.len, x.nextHop], 3 * i));
  return Buffer.from(out.buffer);
}

describe('gzip route files, parsed a block of lines at a time', () => {
  it('equal the whole-text parse across block boundaries, in every format', () => {
    const r = rng(14);
    // ~3 MiB of text: three 1 MiB blocks, lines cut at every boundary.
    const text: string[] = ['# a comment', '; another'];
    for (let i = 0; i < 120_000; i++) {
      const k = r(8);
      if (k === 0) text.push(`${ip(r)}/${r(33)} ${ip(r)} AS${r(50)}`);
      else if (k === 1) text.push(`2001:db8:${r(9999)}::/48 ::1`);
      else if (k === 2) text.push(`${ip(r)}/${r(33)} ${r(70000)}`);
      else text.push(`${ip(r)}/${r(33)}${r(2) === 0 ? ` ${ip(r)}` : ''}`);
    }
    const l = expectSameAsPlain('mixed.txt.gz', `${text.join('\n')}\n`);
    expect(l.fibs[0].count).toBeGreaterThan(100_000);
    expectSameAsPlain('mixed-crlf.txt.gz', text.join('\r\n'), { syntheticNextHops: 8 });

    const click: string[] = [];
    for (let i = 0; i < 100_000; i++) click.push(`${ip(r)}/${r(33)} ${r(3) === 0 ? ip(r) : '-'} ${r(8)}${r(50) === 0 ? ' # note' : ''}`);
    expectSameAsPlain('routes.click.gz', `${click.join('\n')}\n`, { format: 'click' });

    const bgp: string[] = [];
    for (let i = 0; i < 40_000; i++) bgp.push(`TABLE_DUMP|1027382290|B|${r(2) === 0 ? '10.0.0.1' : '10.0.0.2'}|${1 + r(3)}|${ip(r)}/${r(33)}|1 2 3|IGP|${ip(r)}|0|0||NAG||`);
    const b = expectSameAsPlain('dump.bgp.gz', `${bgp.join('\n')}\n`);
    expect(b.format).toBe('bgpdump');
    expect(b.fibs.length).toBeGreaterThan(1);
  });

  it('a format shown only after more than a block of comments is still detected', () => {
    const comments = Array.from({ length: 80_000 }, (_, i) => `# comment line ${i}`).join('\n');
    const l = expectSameAsPlain('late.txt.gz', `${comments}\nR10.0.0.0/8 1\nR10.1.0.0/16 2\n`);
    expect(l.format).toBe('l3fwd');
    expect(l.fibs[0].count).toBe(2);
  });

  it('errors name the line, also past the first block and inside over-long lines', () => {
    const good = Array.from({ length: 100_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
    const bad = [...good, '10.0.0/8', ...good];
    const file = gz('bad.txt.gz', bad.join('\n'));
    expect(() => loadRouteFile(file)).toThrow(`${file}:100001: bad prefix '10.0.0/8'`);
    // A line longer than a whole block: reported at its line, skipped with skipBad, later lines numbered on.
    const long = [...good.slice(0, 10), 'x'.repeat(3 << 20), '10.0.0/8', ...good.slice(0, 10)];
    const lf = gz('long.txt.gz', long.join('\n'));
    expect(() => loadRouteFile(lf)).toThrow(`${lf}:11: line longer than 16384 bytes (the route-line limit)`);
    const skipped = loadRouteFile(lf, { skipBad: true });
    expect(skipped.skippedMessages).toEqual([`${lf}:11: line longer than 16384 bytes (the route-line limit)`, `${lf}:12: bad prefix '10.0.0/8'`]);
    expect(skipped.fibs[0].count).toBe(20);
  });
});

describe('Click route lines parsed in place', () => {
  it('give what parseClickRoute gives line by line, for the fast form and every other', () => {
    const r = rng(3);
    const odd = ['18.26/16 1', '1.2.3.4/255.255.0.0 2', '1.2.3.4 2', '1.2.3.0/24 0.0.0.0 4', '001.2.3.0/24 1', '1.2.3.0/24 007', '\t1.2.3.0/24\t-\t3 '];
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(r(10) === 0 ? odd[r(odd.length)] : `${ip(r)}/${r(33)}${r(2) === 0 ? ` ${r(2) === 0 ? ip(r) : '-'}` : ''} ${r(9) === 0 ? -1 : r(65536)}`);
    const l = parseRoutes(Buffer.from(lines.join('\n')), 'r.click', { format: 'click' });
    expect(l.fibs[0].count).toBe(lines.length);
    const f = l.fibs[0];
    for (let i = 0; i < lines.length; i++) {
      const want = parseClickRoute(lines[i]);
      if (typeof want === 'string') throw new Error(`generated a bad route: ${lines[i]}`);
      const hop = l.nextHops[f.hop[i]];
      expect([f.prefix[i] >>> 0, f.len[i], hop.gateway, hop.port]).toEqual([want.prefix, want.len, want.gateway, want.port]);
    }
  });

  it('lines outside the fast form keep their messages and comments', () => {
    const text = '10.0.0.0/8 1 // comment\n10.1.0.0/16 2, 10.2.0.0/16 3\n10.3.0.0/16 1.2.3.4\n';
    expect(() => parseRoutes(Buffer.from(text), 'r.click', { format: 'click' })).toThrow("r.click:3: missing output port in route '10.3.0.0/16 1.2.3.4'");
    const l = parseRoutes(Buffer.from(text), 'r.click', { format: 'click', skipBad: true });
    expect(l.fibs[0].count).toBe(3);
    expect(l.skipped).toBe(1);
  });
});

describe("IPLookup's consuming build", () => {
  const cases: [string, () => LoadedRoutes][] = [
    ['sorted full table (columns adopted)', () => loadRouteFile(path.join(DATA, 'routes/bart-prefixes-2023.txt.gz'), { syntheticNextHops: 64 })],
    ['unsorted with duplicates and host bits (copied)', () => {
      const r = rng(9);
      const lines: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        const p = `${r(4) + 10}.${r(256)}.${r(256)}.${r(256)}/${8 + r(25)}`;
        lines.push(`${p} 192.0.2.${r(4)}`);
        if (r(5) === 0) lines.push(`${p} 192.0.2.${r(4) + 4}`);
      }
      return parseRoutes(Buffer.from(lines.join('\n')), 'dups.txt');
    }],
  ];
  for (const [name, load] of cases) {
    it(`${name}: the same image, routes and updates as the copying build`, () => {
      const copied = multiFibFromLoaded([load()]);
      const loaded = load();
      const consumed = multiFibFromLoaded([loaded], undefined, { consume: true });
      expect(loaded.fibs[0].count).toBe(0);
      expect(imageOf(consumed).equals(imageOf(copied))).toBe(true);
      // Route changes after the load (buckets grow past their slices, the pool is compacted).
      const r = rng(5);
      for (const m of [copied, consumed]) m.nextHops.intern({ gateway: 1 });
      const nh = copied.nextHops.indexOf({ gateway: 1 })!;
      expect(consumed.nextHops.indexOf({ gateway: 1 })).toBe(nh);
      for (let round = 0; round < 3; round++) {
        const changes: { prefix: number; len: number; remove: boolean }[] = [];
        for (let k = 0; k < 400; k++) changes.push({ prefix: (r(65536) << 16) | r(65536), len: 16 + r(17), remove: r(3) === 0 });
        for (const m of [copied, consumed]) {
          m.beginUpdate();
          for (const c of changes) {
            if (c.remove) m.removeRoute(0, c.prefix, c.len);
            else m.replace(0, c.prefix, c.len, nh);
          }
          m.commitUpdate();
        }
        expect(imageOf(consumed).equals(imageOf(copied))).toBe(true);
      }
      expect(routesOf(consumed).equals(routesOf(copied))).toBe(true);
      expect(consumed.routeCount(0)).toBe(copied.routeCount(0));
    });
  }
});
