/**
 * Fuzz target `pcap-reader`: the capture reader (core/pcap/) on mutated real and generated
 * captures (classic pcap in microseconds and nanoseconds, both byte orders, pcapng in both,
 * each optionally gzipped before or after the damage) and on random bytes behind each magic.
 *
 * Invariants, for every input:
 * - no exception but PcapFormatError (a bad file header, naming the file), no hang (the batch
 *   count is bounded by the bytes), memory bounded (array buffers grow by less than 256 MiB);
 * - every batch is well formed: ids count from 0, packet windows inside the arena, capLen at
 *   most 262,144;
 * - every byte accounted: a classic pcap's header, records and the bad record it stopped at
 *   cover the (inflated) bytes exactly; a pcapng's packets fit in its bytes;
 * - gzip: the reader counts a gzip bad record exactly when zlib rejects the stream (unless a
 *   bad record stopped a classic pcap first), and an intact stream reads exactly as its
 *   inflated bytes do.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import type { FuzzTarget } from '../fuzz-target.js';
import { PcapReader } from '../../../core/pcap/pcap-reader.js';
import { PcapFormatError } from '../../../core/pcap/pcap-errors.js';
import { MAX_PACKET } from '../../../core/pcap/record-scan.js';
import { buildClassicPcap, buildPcapng, fakeBytes, type GenPacket, type NgBlock } from '../../pcap/capture-builder.js';
import { PCAP_DIR } from '../../pcap/pcap-test-support.js';

export interface Edit {
  /** Position as a fraction of the length, in 1/65536ths. */
  at: number;
  value: number;
}

export type PcapFuzzInput =
  | { kind: 'mutated'; seed: number; edits: Edit[]; cut: number | null; gzip: 'none' | 'before' | 'after'; chunk: number }
  | { kind: 'random'; magic: number; bytes: Uint8Array; gzip: boolean; chunk: number };

const packets = (n: number): GenPacket[] => Array.from({ length: n }, (_, i) => ({ bytes: fakeBytes(i + 1, 20 + ((i * 37) % 200)), tsSec: 1_700_000_000 + i, tsFrac: i * 1001 }));

/** Real captures (small ones, whole) and generated ones covering the formats the real ones miss. */
const SEEDS: Uint8Array[] = [
  ...['tcpdump/dns_tcp.pcap', 'tcpdump/tcp-handshake-nano.pcap', 'tcpdump/LINKTYPE_RAW_ipv6.pcap', 'pcapplusplus/pcapng-example.pcapng'].map((rel) => new Uint8Array(fs.readFileSync(path.join(PCAP_DIR, rel)))),
  buildClassicPcap({ littleEndian: false }, packets(12)),
  buildClassicPcap({ littleEndian: false, nano: true }, packets(9)),
  buildClassicPcap({ littleEndian: true, nano: true, linkType: 101 }, packets(7)),
  buildPcapng([
    { kind: 'shb', littleEndian: false },
    { kind: 'idb', linkType: 1, tsresol: 9 },
    { kind: 'idb', linkType: 101 },
    ...packets(8).map((p, i): NgBlock => (i % 3 === 2 ? { kind: 'spb', bytes: p.bytes } : { kind: 'epb', iface: i % 2, ticks: BigInt(i) * 1_000_001n, bytes: p.bytes })),
    { kind: 'other', type: 0x0bad, body: new Uint8Array(12) },
    { kind: 'shb', littleEndian: true },
    { kind: 'idb', linkType: 113 },
    { kind: 'pb', iface: 0, ticks: 5n, bytes: fakeBytes(99, 60) },
  ]),
];

/** First bytes the random inputs start with: classic (both orders, µs and ns), pcapng, gzip. */
const MAGICS = [0xd4c3b2a1, 0xa1b2c3d4, 0x4d3cb2a1, 0xa1b23c4d, 0x0a0d0d0a, 0x1f8b0800];

const chunk = fc.constantFrom(64, 1000, 4096, 1 << 16);

const arbitrary: fc.Arbitrary<PcapFuzzInput> = fc.oneof(
  { weight: 3, arbitrary: fc.record({
    kind: fc.constant('mutated' as const),
    seed: fc.nat({ max: SEEDS.length - 1 }),
    edits: fc.array(fc.record({ at: fc.nat({ max: 65535 }), value: fc.nat({ max: 255 }) }), { maxLength: 8 }),
    cut: fc.option(fc.nat({ max: 65535 }), { nil: null }),
    gzip: fc.constantFrom('none' as const, 'before' as const, 'after' as const),
    chunk,
  }) },
  { weight: 1, arbitrary: fc.record({
    kind: fc.constant('random' as const),
    magic: fc.nat({ max: MAGICS.length - 1 }),
    bytes: fc.uint8Array({ maxLength: 2048 }),
    gzip: fc.boolean(),
    chunk,
  }) },
);

function damage(bytes: Uint8Array, edits: readonly Edit[], cut: number | null): Uint8Array {
  const out = bytes.slice();
  for (const e of edits) if (out.length > 0) out[Math.floor((e.at / 65536) * out.length)] = e.value;
  return cut === null ? out : out.subarray(0, Math.floor((cut / 65536) * out.length));
}

/** The bytes the input stands for. */
export function inputBytes(input: PcapFuzzInput): Uint8Array {
  if (input.kind === 'random') {
    const m = new Uint8Array(4);
    new DataView(m.buffer).setUint32(0, MAGICS[input.magic], false);
    const raw = new Uint8Array([...m, ...input.bytes]);
    return input.gzip ? new Uint8Array(zlib.gzipSync(raw)) : raw;
  }
  const seed = SEEDS[input.seed];
  if (input.gzip === 'before') return new Uint8Array(zlib.gzipSync(damage(seed, input.edits, input.cut)));
  if (input.gzip === 'after') return damage(new Uint8Array(zlib.gzipSync(seed)), input.edits, input.cut);
  return damage(seed, input.edits, input.cut);
}

interface ReadOut {
  format: 'pcap' | 'pcapng';
  packets: Uint8Array[];
  /** 24 + sum of (16 + capLen): the bytes a classic pcap's good records cover. */
  covered: number;
  bad: { fileOffset: number; reason: string }[];
}

function fail(input: PcapFuzzInput, what: string): never {
  throw new Error(`pcap-reader invariant broken: ${what} (input ${JSON.stringify(input, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))})`);
}

/** Read every batch (releasing as the scheduler does), checking each; null for a rejected header. */
function readAll(bytes: Uint8Array, input: PcapFuzzInput, maxPackets: number): ReadOut | null {
  let reader: PcapReader;
  try {
    reader = PcapReader.fromBytes(bytes, 'fuzz.pcap', { chunkBytes: input.chunk });
  } catch (e) {
    if (e instanceof PcapFormatError && e.message.startsWith('fuzz.pcap: ')) return null;
    throw e;
  }
  const out: ReadOut = { format: reader.format, packets: [], covered: 24, bad: [] };
  let seq = 0;
  let nextId = 0;
  for (let b = reader.nextBatch(seq, 1 + (bytes.length % 97)); b !== null; b = reader.nextBatch(++seq, 1 + (bytes.length % 97))) {
    if (b.count <= 0) fail(input, `empty batch ${seq}`);
    for (let i = 0; i < b.count; i++) {
      if (b.id[i] !== nextId++) fail(input, `packet id ${b.id[i]}, expected ${nextId - 1}`);
      if (b.length[i] < 0 || b.length[i] > MAX_PACKET || b.offset[i] < b.base[i] || b.offset[i] + b.length[i] > b.data.length) fail(input, `packet ${b.id[i]} outside its arena`);
      out.packets.push(b.bytes(i).slice());
      out.covered += 16 + b.length[i];
    }
    if (out.packets.length > maxPackets) fail(input, `more than ${maxPackets} packets from ${bytes.length} bytes (a loop?)`);
    reader.release(seq);
  }
  out.bad = reader.badRecords.map((r) => ({ fileOffset: r.fileOffset, reason: r.reason }));
  if (reader.badRecordCount !== out.bad.length) fail(input, 'bad records counted but not kept');
  reader.close();
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function check(input: PcapFuzzInput): void {
  const bytes = inputBytes(input);
  const gz = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  let inflated: Uint8Array | null = gz ? null : bytes;
  if (gz) {
    try {
      inflated = new Uint8Array(zlib.gunzipSync(bytes));
    } catch {
      inflated = null;
    }
  }
  const before = process.memoryUsage().arrayBuffers;
  // Every packet takes at least 12 bytes of the (inflated) file; deflate inflates at most ~1032:1.
  const maxPackets = Math.ceil(((gz ? 1100 : 1) * bytes.length) / 12) + 1;
  const got = readAll(bytes, input, maxPackets);
  const grown = process.memoryUsage().arrayBuffers - before;
  if (grown > 256 << 20) fail(input, `array buffers grew by ${grown} bytes`);
  if (got === null) return;
  const gzipBad = got.bad.filter((b) => /gzip data/.test(b.reason));
  const recordBad = got.bad.filter((b) => !/gzip data/.test(b.reason));
  if (gz) {
    // The reader counts gzip damage exactly when zlib rejects the stream, unless a bad record
    // stopped a classic pcap before the damage was reached.
    if (gzipBad.length > 1 || (inflated !== null && gzipBad.length > 0)) fail(input, `zlib accepts the stream but the reader counted ${gzipBad.length} gzip bad records`);
    if (inflated === null && gzipBad.length === 0 && !(got.format === 'pcap' && recordBad.length === 1)) fail(input, 'zlib rejects the stream but the reader neither counted the damage nor stopped before it');
    if (inflated !== null) {
      const plain = readAll(inflated, input, maxPackets);
      if (plain === null || plain.packets.length !== got.packets.length || !plain.packets.every((p, i) => sameBytes(p, got.packets[i]))) fail(input, 'the gzip stream reads differently from its inflated bytes');
    }
  } else if (gzipBad.length > 0) fail(input, 'a gzip bad record from a plain file');
  if (inflated === null) return;
  if (got.format === 'pcap') {
    // Classic pcap stops at its first bad record: header + good records + the rest from there is the file.
    if (recordBad.length === 0 && got.covered !== inflated.length) fail(input, `records cover ${got.covered} of ${inflated.length} bytes with no bad record`);
    if (recordBad.length > 1) fail(input, `${recordBad.length} bad records in a classic pcap (it stops at the first)`);
    if (recordBad.length === 1 && recordBad[0].fileOffset !== got.covered) fail(input, `bad record at byte ${recordBad[0].fileOffset}, good records end at ${got.covered}`);
  } else if (got.packets.reduce((s, p) => s + p.length, 0) > inflated.length) fail(input, 'pcapng packets hold more bytes than the file');
}

export const target: FuzzTarget<PcapFuzzInput> = { name: 'pcap-reader', arbitrary, check };
