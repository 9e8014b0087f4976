import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IPLookup, type IPLookupConfig } from '../../elements/ip-lookup.js';
import type { ElementClass } from '../../core/element.js';
import { PacketBatch } from '../../core/packet-batch.js';
import type { ConfigArgs } from '../../core/config/args.js';
import { ConfigError } from '../../core/config/source-location.js';
import { HandlerError } from '../../core/handlers.js';
import type { RuntimeEnv } from '../../core/runtime-env.js';
import { parseAddress, formatIPv4 } from '../../core/routes/ipv4.js';
import { loadRouteFile } from '../../core/routes/load-routes.js';

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');

const loc = { file: 't.click', line: 1, column: 1 };
function args(...list: string[]): ConfigArgs {
  return { loc, list: list.map((raw, i) => ({ raw, value: raw, loc: { ...loc, column: 10 + i } })) };
}
const warnings: string[] = [];
function env(baseDir = os.tmpdir()): RuntimeEnv {
  return { baseDir, log: { info: () => {}, warn: (m) => warnings.push(m) }, strictBackends: false, backend: () => Promise.reject(new Error('no backends in this test')) };
}
function element(list: string[], noutputs = 1, baseDir?: string): IPLookup {
  return new IPLookup({ name: 'rt', config: IPLookup.parseConfig(args(...list)), env: env(baseDir), ninputs: 1, noutputs });
}
const ip = (s: string): number => parseAddress(s)!;

/** A batch of bare IPv4 headers (20 bytes each) to the given destinations; `short` packets get 10 bytes. */
function batchTo(dsts: string[], short: number[] = []): PacketBatch {
  const data = new Uint8Array(dsts.length * 64);
  const b = new PacketBatch({ seq: 0, capacity: dsts.length, data, linkType: 101 });
  dsts.forEach((d, i) => {
    const off = i * 64 + 32;
    data[off] = 0x45;
    const a = ip(d);
    data.set([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255], off + 16);
    b.offset[i] = off;
    b.length[i] = short.includes(i) ? 10 : 20;
    b.base[i] = i * 64;
    b.id[i] = i;
    b.count++;
  });
  return b;
}

describe('IPLookup', () => {
  it("passes Click's iplookups-01 conformance script exactly, through the handlers", () => {
    const e = element([], 3);
    const h = e.handlers();
    const lines = fs.readFileSync(path.join(DATA, 'vectors/click-iplookups-01.tsv'), 'utf8').split('\n');
    let steps = 0;
    for (const line of lines) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const [op, arg, expected] = line.split('\t');
      steps++;
      if (op === 'lookup') {
        expect(`${op} ${arg} -> ${h.lookup.read!(arg)}`).toBe(`${op} ${arg} -> ${expected}`);
      } else if (expected !== undefined && expected.startsWith('error: ')) {
        // The script's note after the quoted route explains the case; the error is the text before it.
        const want = expected.slice('error: '.length).replace(/ \([^']*\)$/, '');
        expect(() => h[op].write!(arg)).toThrow(HandlerError);
        expect(() => h[op].write!(arg)).toThrow(new RegExp(`^${want.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`));
      } else {
        h[op].write!(arg);
      }
    }
    expect(steps).toBe(25);
  });

  it("Click's iplookups-02: 1,518 real routes and a default route to port 16; the default survives", () => {
    const mae = loadRouteFile(path.join(DATA, 'routes/mae-west.txt')).fibs[0];
    const routes: string[] = [];
    for (let i = 0; i < 1518; i++) routes.push(`${formatIPv4(mae.prefix[i])}/${mae.len[i]} ${i % 16}`);
    const e = element(['0.0.0.0/0 16', ...routes.slice(0, 700)], 17);
    const h = e.handlers();
    h.add.write!(routes.slice(700).join(',\n'));
    expect(e.multiFib.routeCount(0)).toBe(1519);
    // An address no specific route covers still goes to port 16.
    let probe = 0x01000001;
    while (e.multiFib.lookup(0, probe)!.len !== 0) probe = (probe + 0x00fff00f) >>> 0;
    expect(h.lookup.read!(formatIPv4(probe))).toBe('16');
    const out = e.process(batchTo([formatIPv4(probe), formatIPv4(mae.prefix[5])])) as (PacketBatch | null)[];
    expect(out[16]!.count).toBe(1);
    expect(out[5]!.count).toBe(1);
  });

  it('sends packets to their route port, drops and counts misses, sets nextHop and the gateway as dst', () => {
    const e = element(['10.0.0.0/8 0', '10.1.0.0/16 192.0.2.9 1', '10.1.2.3/32 2'], 3);
    const b = batchTo(['10.9.9.9', '10.1.7.7', '10.1.2.3', '11.0.0.1', '10.1.2.4'], []);
    const out = e.process(b) as (PacketBatch | null)[];
    expect(out.map((x) => x?.count ?? 0)).toEqual([1, 2, 1]);
    expect(Array.from(out[1]!.anno('dst').subarray(0, 2), formatIPv4)).toEqual(['192.0.2.9', '192.0.2.9']);
    expect(formatIPv4(out[2]!.anno('dst')[0])).toBe('10.1.2.3');
    expect(e.handlers().drops.read!()).toBe('1');
    expect(warnings).toContain('rt: no route for 11.0.0.1 (packet 3)');
    expect(b.anno('nextHop')[3]).toBe(-1);
    const last = element(['10.0.0.0/8 0', 'NOROUTE last'], 2);
    const out2 = last.process(batchTo(['10.0.0.1', '12.0.0.1', '13.0.0.1'])) as (PacketBatch | null)[];
    expect(out2.map((x) => x?.count ?? 0)).toEqual([1, 2]);
  });

  it('with one output only annotates; short packets and unknown FIBs get no route', () => {
    const e = element(['10.0.0.0/8 0']);
    const b = batchTo(['10.0.0.1', '10.0.0.2', '9.0.0.1'], [1]);
    const out = e.process(b) as (PacketBatch | null)[];
    expect(out[0]).toBe(b);
    expect(Array.from(b.anno('nextHop').subarray(0, 3)).map((x) => x >= 0)).toEqual([true, false, false]);
    const v = batchTo(['10.0.0.1', '10.0.0.1']);
    v.anno('vrf').set([0, 7]);
    e.process(v);
    expect(Array.from(v.anno('nextHop').subarray(0, 2)).map((x) => x >= 0)).toEqual([true, false]);
  });

  it('FIBS from files: the vrf annotation picks the FIB; handlers address FIBs by name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-iplookup-'));
    fs.writeFileSync(path.join(dir, 'red.txt'), '10.0.0.0/8 192.0.2.1\n');
    fs.writeFileSync(path.join(dir, 'blue.txt'), '10.0.0.0/8 192.0.2.2\n10.5.0.0/16 192.0.2.3\n');
    const e = element(['FIBS red=red.txt blue=blue.txt'], 1, dir);
    expect(e.handlers().fibs.read!()).toBe('0 red 1\n1 blue 2\n');
    const b = batchTo(['10.5.0.1', '10.5.0.1', '10.6.0.1']);
    b.anno('dst').set([ip('10.5.0.1'), ip('10.5.0.1'), ip('10.6.0.1')]);
    b.anno('vrf').set([0, 1, 1]);
    e.process(b);
    expect(Array.from(b.anno('dst').subarray(0, 3), formatIPv4)).toEqual(['192.0.2.1', '192.0.2.3', '192.0.2.2']);
    const h = e.handlers();
    expect(h.lookup.read!('blue 10.5.1.1')).toBe('-1 192.0.2.3');
    h.set.write!('@blue 10.5.0.0/16 192.0.2.4 0');
    expect(h.lookup.read!('blue 10.5.1.1')).toBe('0 192.0.2.4');
    expect(h.lookup.read!('red 10.5.1.1')).toBe('-1 192.0.2.1');
    expect(() => h.add.write!('@green 1.0.0.0/8 0')).toThrow(/no FIB named 'green'/);
    expect(h.memory.read!()).toMatch(/^bytes \d+\nnodes \d+\nrecords \d+\nsharing [\d.]+\n$/);
    expect(h.table.read!()).toContain('# FIB blue\n10.0.0.0/8\t\t192.0.2.2\t-\n');
  });

  it('handler writes are atomic and errors are clear', () => {
    const e = element(['10.0.0.0/8 1.0.0.1 0'], 2);
    const h = e.handlers();
    expect(() => h.add.write!('11.0.0.0/8 1, 10.0.0.0/8 0')).toThrow("conflict with existing route '10.0.0.0/8 1.0.0.1 0'");
    expect(e.multiFib.routeCount(0)).toBe(1);
    expect(() => h.add.write!('12.0.0.0/8 0, 12.0.0.0/8 1')).toThrow("conflict with existing route '12.0.0.0/8 - 0'");
    expect(() => h.add.write!('13.0.0.0/8 5')).toThrow(/output 5 out of range/);
    expect(() => h.remove.write!('10.0.0.0/8 1.0.0.2 0')).toThrow("route '10.0.0.0/8 1.0.0.2 0' not found");
    expect(() => h.set.write!('10.0.0.0/8 x 0')).toThrow(/bad gateway 'x'/);
    expect(() => h.lookup.read!('10.0.0')).toThrow(/bad IPv4 address/);
    h.set.write!('11.0.0.0/8 1\n12.0.0.0/8 0');
    expect(h.table.read!()).toBe('10.0.0.0/8\t\t1.0.0.1\t\t0\n11.0.0.0/8\t\t-\t\t1\n12.0.0.0/8\t\t-\t\t0\n');
    h.remove.write!('11.0.0.0/8, 12.0.0.0/8 0');
    expect(h.lookup.read!('11.1.1.1')).toBe('-1');
  });

  it('bad configurations name the argument', () => {
    expect(() => IPLookup.parseConfig(args('10.0.0.0/8 0', '10.0.0.0/40 1'))).toThrow(ConfigError);
    expect(() => IPLookup.parseConfig(args('10.0.0.0/8 0', '10.0.0.0/40 1'))).toThrow(/^t\.click:1:11: bad ROUTES\.1: prefix length 40 is over 32/);
    expect(() => IPLookup.parseConfig(args('NOROUTE maybe'))).toThrow(/t\.click:1:10: bad NOROUTE/);
    expect(() => IPLookup.parseConfig(args('FIBS red'))).toThrow(/expected name=file/);
    expect(() => element(['10.0.0.0/8 4'], 2)).toThrow(/output 4 out of range/);
    expect(() => element(['10.0.0.0/8 1', '10.1.2.3/8 0'], 2)).toThrow("rt: conflict with existing route '10.0.0.0/8 - 1'");
    expect(() => element(['FIB missing-file.txt'], 1, os.tmpdir())).toThrow(/missing-file\.txt/);
  });
});

// The class's static side is an ElementClass.
const asClass: ElementClass<IPLookupConfig> = IPLookup;
describe('IPLookup class', () => {
  it('declares its name, aliases, ports and manual', () => {
    expect(asClass.className).toBe('IPLookup');
    expect(asClass.aliases).toEqual(['LookupIPRoute', 'RadixIPLookup', 'DirectIPLookup', 'StaticIPLookup']);
    expect(asClass.ports).toEqual({ inputs: '1', outputs: '1-' });
    expect(asClass.manual).toMatch(/^IPLookup\(ROUTE/);
  });
});
