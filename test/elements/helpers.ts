/**
 * Test helpers for the element library: config args as the parser would hand them, a runtime
 * env that records log lines, batches built from byte arrays (with headroom, as sources make
 * them), and a tiny classic-pcap reader for the real captures in ../shared/data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_HEADROOM, PacketBatch } from '../../core/packet-batch.js';
import type { ConfigArgs } from '../../core/config/args.js';
import type { Element, ElementInit, PortSpec } from '../../core/element.js';
import type { RuntimeEnv } from '../../core/runtime-env.js';

export const DATA = path.resolve(import.meta.dirname, '../../../shared/data');

const loc = { file: 't.click', line: 1, column: 1 };

/** Args as the config parser produces them: each string is one raw argument. */
export function args(...raw: string[]): ConfigArgs {
  return { loc, list: raw.map((r, k) => ({ raw: r, value: r, loc: { ...loc, column: 10 + k * 5 } })) };
}

export interface TestEnv extends RuntimeEnv {
  warnings: string[];
}

export function testEnv(): TestEnv {
  const warnings: string[] = [];
  return {
    baseDir: '.',
    log: { info: () => {}, warn: (m) => warnings.push(m) },
    strictBackends: false,
    backend: () => Promise.reject(new Error('no backends in element tests')),
    warnings,
  };
}

/** Any element class, whatever its config type (the config goes from its parseConfig to its constructor). */
export interface AnyElementClass {
  readonly className: string;
  readonly manual: string;
  readonly ports: PortSpec;
  parseConfig(args: ConfigArgs): unknown;
  new (init: ElementInit<never>): Element<unknown>;
}

/** Build an element from raw args, as the graph would. */
export function make<T extends AnyElementClass>(cls: T, raw: string[] = [], noutputs = 1, env: TestEnv = testEnv()): InstanceType<T> {
  // The class's own parseConfig made this config: it is the constructor's config type.
  const config = cls.parseConfig(args(...raw)) as never;
  return new cls({ name: `t_${cls.className}`, config, env, ninputs: 1, noutputs }) as InstanceType<T>;
}

/** A batch holding copies of `packets`, each with `headroom` free bytes in front. */
export function batchOf(packets: readonly Uint8Array[], opts: { seq?: number; headroom?: number; firstId?: number; linkType?: number } = {}): PacketBatch {
  const head = opts.headroom ?? DEFAULT_HEADROOM;
  const total = packets.reduce((s, p) => s + p.length + head, 0);
  const b = new PacketBatch({ seq: opts.seq ?? 0, capacity: packets.length, data: new Uint8Array(total), linkType: opts.linkType ?? 1 });
  let pos = 0;
  packets.forEach((p, i) => {
    b.base[i] = pos;
    b.offset[i] = pos + head;
    b.length[i] = p.length;
    b.wireLength[i] = p.length;
    b.id[i] = (opts.firstId ?? 0) + i;
    b.data.set(p, pos + head);
    pos += head + p.length;
  });
  b.count = packets.length;
  return b;
}

/** Current bytes of every packet, as plain arrays (for toEqual). */
export function contents(b: PacketBatch | null | undefined): number[][] {
  if (!b) return [];
  return Array.from({ length: b.count }, (_, i) => [...b.bytes(i)]);
}

export function ids(b: PacketBatch | null | undefined): number[] {
  if (!b) return [];
  return Array.from(b.id.subarray(0, b.count));
}

export interface Capture {
  linkType: number;
  packets: Uint8Array[];
}

/** Classic pcap (either byte order, micro- or nanosecond); enough for the test captures. */
export function readPcap(file: string): Capture {
  const buf = readFileSync(file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0, true);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`${file}: not a classic pcap file (magic ${magic.toString(16)})`);
  const linkType = dv.getUint32(20, le);
  const packets: Uint8Array[] = [];
  let p = 24;
  while (p + 16 <= buf.length) {
    const incl = dv.getUint32(p + 8, le);
    if (p + 16 + incl > buf.length) break;
    packets.push(new Uint8Array(buf.subarray(p + 16, p + 16 + incl)));
    p += 16 + incl;
  }
  return { linkType, packets };
}

/** A valid IPv4 header (20 bytes, checksum set) followed by `payload` bytes of zeros. */
export function ipv4Packet(fields: { src?: number[]; dst?: number[]; ttl?: number; proto?: number; payload?: number; tos?: number; id?: number } = {}): Uint8Array {
  const payload = fields.payload ?? 8;
  const p = new Uint8Array(20 + payload);
  p[0] = 0x45;
  p[1] = fields.tos ?? 0;
  p[2] = (20 + payload) >> 8;
  p[3] = (20 + payload) & 0xff;
  p[4] = (fields.id ?? 0x1234) >> 8;
  p[5] = (fields.id ?? 0x1234) & 0xff;
  p[8] = fields.ttl ?? 64;
  p[9] = fields.proto ?? 17;
  p.set(fields.src ?? [10, 0, 0, 1], 12);
  p.set(fields.dst ?? [192, 168, 1, 2], 16);
  let sum = 0;
  for (let k = 0; k < 20; k += 2) sum += (p[k] << 8) | p[k + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

/** Ethernet frame around `payload`. */
export function etherFrame(etherType: number, payload: Uint8Array, dst = [2, 0, 0, 0, 0, 1], src = [2, 0, 0, 0, 0, 2]): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(payload, 14);
  return f;
}
