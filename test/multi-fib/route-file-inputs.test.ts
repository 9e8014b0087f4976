/**
 * Route files a user gets wrong: ports that name no output, endless or oversized files,
 * directories, a file of the wrong format under --skip-bad. Each is a clear error naming the
 * element and file:line, and no packet disappears uncounted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { IPLookup } from '../../elements/ip-lookup.js';
import { PacketBatch } from '../../core/packet-batch.js';
import type { ConfigArgs } from '../../core/config/args.js';
import type { RuntimeEnv } from '../../core/runtime-env.js';
import { parseAddress } from '../../core/routes/ipv4.js';
import { loadRouteFile, parseRoutes, RouteFileError } from '../../core/routes/load-routes.js';
import { requireBuiltCli, runHetbox, type CliResult } from '../support/hetbox-cli.js';

const loc = { file: 't.click', line: 1, column: 1 };
const args = (...list: string[]): ConfigArgs => ({ loc, list: list.map((raw, i) => ({ raw, value: raw, loc: { ...loc, column: 10 + i } })) });
const env = (baseDir: string): RuntimeEnv => ({ baseDir, log: { info: () => {}, warn: () => {} }, strictBackends: false, backend: () => Promise.reject(new Error('no backends')) });
const element = (list: string[], noutputs: number, baseDir: string): IPLookup =>
  new IPLookup({ name: 'rt', config: IPLookup.parseConfig(args(...list)), env: env(baseDir), ninputs: 1, noutputs });

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-route-inputs-'));
}

function batchTo(dsts: string[]): PacketBatch {
  const data = new Uint8Array(dsts.length * 64);
  const b = new PacketBatch({ seq: 0, capacity: dsts.length, data, linkType: 101 });
  dsts.forEach((d, i) => {
    const off = i * 64;
    data[off] = 0x45;
    const a = parseAddress(d)!;
    data.set([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255], off + 16);
    b.offset[i] = off;
    b.length[i] = 20;
    b.base[i] = off;
    b.id[i] = i;
    b.count++;
  });
  return b;
}

const hetbox = (argv: string[], input = ''): CliResult => runHetbox(argv, { input });

describe('route files: output ports', () => {
  it('a FIB file route to an output the element lacks is an error naming element, file and line', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'r.txt'), '10.0.0.0/8 1\n# comment\n0.0.0.0/0 5\n');
    expect(() => element(['FIB r.txt'], 2, dir)).toThrow(`rt: ${path.join(dir, 'r.txt')}:3: output 5 out of range (2 outputs)`);
    // AS numbers in the second column read as ports: the first line naming one is the one reported.
    fs.writeFileSync(path.join(dir, 'as.txt'), '1.0.0.0/24 13335\n1.0.4.0/22 38803\n');
    expect(() => element(['FIBS a=as.txt'], 3, dir)).toThrow(/^rt: .*as\.txt:1: output 13335 out of range \(3 outputs\)/);
    // With one output the element only annotates, so any port is fine; valid ports load.
    expect(element(['FIB as.txt'], 1, dir).multiFib.routeCount(0)).toBe(2);
    expect(element(['FIB r.txt'], 6, dir).multiFib.routeCount(0)).toBe(2);
  });

  it('a packet whose next hop names a missing output is dropped and counted by reason', () => {
    const dir = tmpDir();
    const e = element(['10.0.0.0/8 1'], 2, dir);
    // A route that bypassed the element's checks (the structure is shared with migration and backends).
    const fib = e.multiFib;
    fib.addRoute(0, parseAddress('11.0.0.0')!, 8, fib.nextHops.intern({ port: 7 }));
    const out = e.process(batchTo(['10.0.0.1', '11.0.0.1', '12.0.0.1'])) as (PacketBatch | null)[];
    const sent = out.reduce((s, b) => s + (b?.count ?? 0), 0);
    const h = e.handlers();
    expect(sent).toBe(1);
    expect(h.drops_no_output.read!()).toBe('1');
    expect(h.drops_no_route.read!()).toBe('1');
    expect(h.drops.read!()).toBe('2');
    expect(e.summary()).toMatchObject({ drops: 2, drops_no_route: 1, drops_no_output: 1 });
  });
});

describe('route files: bounds and wrong paths', () => {
  it('/dev/zero is refused after the size limit, naming the file', () => {
    expect(() => loadRouteFile('/dev/zero', { maxBytes: 1 << 20 })).toThrow(RouteFileError);
    expect(() => loadRouteFile('/dev/zero', { maxBytes: 1 << 20 })).toThrow(`/dev/zero: holds more than ${1 << 20} bytes (the route-file limit)`);
  });

  it('the element names itself and the path for a directory, a missing file and an endless one', () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'sub'));
    expect(() => element(['FIB sub'], 1, dir)).toThrow(`rt: ${path.join(dir, 'sub')}: is a directory, not a route file`);
    expect(() => element(['FIB nope.txt'], 1, dir)).toThrow(new RegExp(`^rt: ${path.join(dir, 'nope.txt')}: cannot open route file: ENOENT`));
  });

  it('a line over the limit is an error naming file:line (or skipped and counted)', () => {
    const text = `10.0.0.0/8 1.2.3.4\n10.1.0.0/16 ${'x'.repeat(100)}\n`;
    const bytes = new TextEncoder().encode(text);
    expect(() => parseRoutes(bytes, 'r.txt', { maxLineBytes: 64 })).toThrow('r.txt:2: line longer than 64 bytes (the route-line limit)');
    const l = parseRoutes(bytes, 'r.txt', { maxLineBytes: 64, skipBad: true });
    expect(l.skipped).toBe(1);
    expect(l.fibs[0].count).toBe(1);
    // The caller's bytes are left as they were.
    expect(new TextDecoder().decode(bytes)).toBe(text);
  });

  it('a gzip file that inflates past the limit, or is not gzip, is a located error', () => {
    const dir = tmpDir();
    const big = path.join(dir, 'big.txt.gz');
    fs.writeFileSync(big, gzipSync(Buffer.alloc(4 << 20, 0x20)));
    expect(() => loadRouteFile(big, { maxBytes: 1 << 20 })).toThrow(`${big}: inflates to more than ${1 << 20} bytes (the route-file limit)`);
    const bad = path.join(dir, 'bad.txt.gz');
    fs.writeFileSync(bad, 'not gzip');
    expect(() => loadRouteFile(bad)).toThrow(new RegExp(`^${bad}: bad gzip data`));
  });

  it('skipBad on a file with no valid route fails instead of loading an empty table', () => {
    const bytes = new TextEncoder().encode('hello world\nthis is not a route file\n');
    expect(() => parseRoutes(bytes, 'notes.txt', { skipBad: true })).toThrow(/^notes\.txt: no valid text route: all 2 route line\(s\) bad \(first: notes\.txt:1: bad prefix 'hello'\)/);
    // An empty file is an empty table, as before.
    expect(parseRoutes(new Uint8Array(0), 'empty.txt', { skipBad: true }).fibs[0].count).toBe(0);
  });
});

describe('route files through the CLI', () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it('check rejects a FIB file whose port names no output, naming element, file and line', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'r.txt'), '10.0.0.0/8 1\n0.0.0.0/0 5\n');
    const cfg = path.join(dir, 'r.click');
    fs.writeFileSync(cfg, 'src :: Idle; rt :: IPLookup(FIB r.txt); src -> rt; rt[0] -> Discard; rt[1] -> Discard;\n');
    const r = hetbox(['check', cfg]);
    expect(r.status).toBe(1);
    // Located twice: the configuration's file:line:column of the element, then the route file's line.
    expect(r.stderr).toContain(`${cfg}:1:14: 'rt' (IPLookup): ${path.join(dir, 'r.txt')}:2: output 5 out of range (2 outputs)`);
  });

  it('lookup --skip-bad: a wrong-format file fails; skipped lines are reported', () => {
    const dir = tmpDir();
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'hello world\nnot routes\n');
    const r = hetbox(['lookup', '--skip-bad', '--fib', notes], '10.0.0.1\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${notes}: no valid text route: all 2 route line(s) bad`);
    const mixed = path.join(dir, 'mixed.txt');
    fs.writeFileSync(mixed, '10.0.0.0/8 192.0.2.1\nbogus line\n');
    const m = hetbox(['lookup', '--skip-bad', '--fib', mixed], '10.0.0.1\n');
    expect(m.status).toBe(0);
    expect(m.stdout).toBe('10.0.0.1 10.0.0.0/8 192.0.2.1\n');
    expect(m.stderr).toContain(`${mixed}: 1 bad route line(s) skipped (first: ${mixed}:2: bad prefix 'bogus')`);
  });
});
