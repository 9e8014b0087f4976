/**
 * Bench section "flows": the flow table against a plain JavaScript Map keyed by the 5-tuple,
 * measured in the same run, and the NAT pipeline (FlowIPManager -> IPRewriter) on many flows.
 *
 * Table rows: 1M distinct IPv4 TCP flows, keys already parsed into columns (both sides start
 * from the same parsed 5-tuple; the Map's key is the tuple as a string, the usual way to key a
 * Map by a 5-tuple). "insert" times the first pass (every key misses and is inserted), "classify"
 * a second pass over the full table (every key hits: what a packet of a known flow costs).
 * `flowLookup` is the pure lookup over the image (the flow-lookup kernel's CPU reference).
 *
 * NAT rows: 65,536 generated TCP packets (Ethernet/IPv4, valid checksums) of 16,384 flows, in
 * batches of 1,024, through FlowIPManager -> IPRewriter (pattern with a source port range).
 * The first pass maps every flow (misses, alias inserts); later passes find their mappings.
 * The packet bytes are restored from a pristine copy before each pass (the NAT rewrites in
 * place); the copy is included in the figure (one memcpy per batch).
 */
import type { BenchReport } from './report.js';
import { measureRate } from './report.js';
import { KEY_HAS_PORTS, KEY_WORDS } from '../core/flows/flow-key.js';
import { FlowTable } from '../core/structures/flow-table/flow-table.js';
import { flowLookup } from '../core/structures/flow-table/flow-table-image.js';
import { PacketBatch } from '../core/packet-batch.js';
import type { ConfigArgs } from '../core/config/args.js';
import type { RuntimeEnv } from '../core/runtime-env.js';
import { setIPv4HeaderChecksum } from '../core/net/ip-checksum.js';
import { FlowIPManager } from '../elements/flow-ip-manager.js';
import { IPRewriter } from '../elements/ip-rewriter.js';

const FLOWS = 1 << 20;

function keys(n: number): Uint32Array {
  const k = new Uint32Array(n * KEY_WORDS);
  for (let i = 0; i < n; i++) {
    const p = i * KEY_WORDS;
    k[p] = (0x0a000000 + (i >>> 4)) >>> 0;
    k[p + 4] = (0xc0a80000 + (i & 15)) >>> 0;
    k[p + 8] = (((1024 + (i % 60000)) << 16) | 443) >>> 0;
    k[p + 9] = ((4 << 8) | 6 | KEY_HAS_PORTS) >>> 0;
  }
  return k;
}

function mapKey(k: Uint32Array, p: number): string {
  return `${k[p]}:${k[p + 8] >>> 16}>${k[p + 4]}:${k[p + 8] & 0xffff}/${k[p + 9] & 0xff}`;
}

function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

function args(raw: string[]): ConfigArgs {
  const loc = { file: 'bench', line: 1, column: 1 };
  return { loc, list: raw.map((r) => ({ raw: r, value: r, loc })) };
}

export async function run(report: BenchReport): Promise<void> {
  const s = report.section('flows: flow table (1M flows) vs a JavaScript Map keyed by the 5-tuple; NAT pipeline');
  const k = keys(FLOWS);
  // Baseline: Map keyed by the 5-tuple string.
  const map = new Map<string, number>();
  const mapInsert = timeOnce(() => {
    for (let i = 0; i < FLOWS; i++) map.set(mapKey(k, i * KEY_WORDS), i);
  });
  let sink = 0;
  const mapHit = timeOnce(() => {
    for (let i = 0; i < FLOWS; i++) sink += map.get(mapKey(k, i * KEY_WORDS))!;
  });
  report.add(s, { name: 'Map insert (baseline)', value: FLOWS / mapInsert, unit: 'flows/s' });
  report.add(s, { name: 'Map lookup, known flows (baseline)', value: FLOWS / mapHit, unit: 'pkt/s' });
  map.clear();
  const table = new FlowTable({ capacity: FLOWS, policy: 'drop' });
  const tInsert = timeOnce(() => {
    for (let i = 0; i < FLOWS; i++) table.classify(k, i * KEY_WORDS, false, 1000, 0, 0x10);
  });
  const tHit = timeOnce(() => {
    for (let i = 0; i < FLOWS; i++) sink += table.classify(k, i * KEY_WORDS, false, 1001, 0, 0x10);
  });
  const out = new Int32Array(FLOWS);
  const tPure = timeOnce(() => flowLookup(table.image, k, FLOWS, out));
  const missing = table.counters.drops_full;
  report.add(s, { name: 'FlowTable insert', value: FLOWS / tInsert, unit: 'flows/s', baseline: 'Map insert (baseline)', extra: { size: table.counters.size, drops_full: missing, MiB: table.bytes / 2 ** 20 } });
  report.add(s, { name: 'FlowTable classify, known flows', value: FLOWS / tHit, unit: 'pkt/s', baseline: 'Map lookup, known flows (baseline)', extra: { hits: table.counters.hits } });
  report.add(s, { name: 'flowLookup over the image (kernel reference)', value: FLOWS / tPure, unit: 'pkt/s', baseline: 'Map lookup, known flows (baseline)' });
  if (sink === -1) report.note(s, 'unreachable');

  // NAT pipeline on many flows.
  const env: RuntimeEnv = { baseDir: '.', log: { info: () => {}, warn: () => {} }, strictBackends: false, backend: () => Promise.reject(new Error('no backends')) };
  const fm = new FlowIPManager({ name: 'fm', config: FlowIPManager.parseConfig(args(['CAPACITY 65536'])), env, ninputs: 1, noutputs: 1 });
  const nat = new IPRewriter({ name: 'nat', config: IPRewriter.parseConfig(args(['pattern 192.0.2.1 1024-65535 - - 0 1'])), env, ninputs: 1, noutputs: 2 });
  fm.initialize();
  const PKTS = 65536;
  const NFLOWS = 16384;
  const BATCH = 1024;
  const FRAME = 54;
  const batches: { batch: PacketBatch; pristine: Uint8Array }[] = [];
  for (let b0 = 0; b0 < PKTS; b0 += BATCH) {
    const data = new Uint8Array(BATCH * (FRAME + 32));
    const batch = new PacketBatch({ seq: b0 / BATCH, capacity: BATCH, data });
    for (let j = 0; j < BATCH; j++) {
      const n = (b0 + j) % NFLOWS;
      const at = j * (FRAME + 32) + 32;
      const p = data.subarray(at, at + FRAME);
      p[12] = 8;
      p[14] = 0x45;
      p[17] = 40;
      p[22] = 64;
      p[23] = 6;
      p.set([10, 1, n >> 8, n & 255, 203, 0, 113, 7], 26);
      setIPv4HeaderChecksum(p, 14);
      p[34] = 0x9c;
      p[35] = 0x40;
      p[37] = 80;
      p[46] = 0x50;
      p[47] = 0x10;
      batch.base[j] = at - 32;
      batch.offset[j] = at;
      batch.length[j] = FRAME;
      batch.wireLength[j] = FRAME;
      batch.id[j] = b0 + j;
      batch.tsSec[j] = 1;
    }
    batch.count = BATCH;
    batches.push({ batch, pristine: data.slice() });
  }
  const pass = (): void => {
    for (const { batch, pristine } of batches) {
      batch.data.set(pristine);
      nat.process(fm.processInline(batch)[0]!);
    }
  };
  const first = timeOnce(pass);
  report.add(s, { name: 'NAT pipeline, first pass (maps 16,384 flows)', value: PKTS / first, unit: 'pkt/s' });
  const steady = await measureRate(pass, PKTS, 1000);
  report.add(s, { name: 'NAT pipeline, known flows', value: steady.rate, unit: 'pkt/s', baseline: 'NAT pipeline, first pass (maps 16,384 flows)', extra: { mappings: nat.summary().mappings, flows: fm.table.counters.size } });
}
