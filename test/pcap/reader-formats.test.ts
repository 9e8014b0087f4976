/**
 * Generated captures in every variant the reader claims: classic pcap in both byte orders with
 * microsecond and nanosecond magics and several link types; pcapng with two sections of
 * different byte order, several interfaces (link types, if_tsresol decimal and binary,
 * if_tsoffset), enhanced, simple and obsolete packet blocks, options and skipped blocks.
 * Checked against the construction and, where tshark reads the file, against tshark.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW } from '../../core/pcap/link-types.js';
import { buildClassicPcap, buildPcapng, fakeBytes, type GenPacket, type NgBlock } from './capture-builder.js';
import { epochString, flatten, mapLimited, md5, readBatches, tempDir, tsharkFrames, tsharkOrFail } from './pcap-test-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function packets(count: number, nano: boolean, seed: number): GenPacket[] {
  const out: GenPacket[] = [];
  for (let i = 0; i < count; i++) {
    const len = 20 + ((i * 37 + seed) % 1400);
    out.push({ bytes: fakeBytes(seed * 1000 + i, len), tsSec: 1_600_000_000 + i * 3 + seed, tsFrac: nano ? (i * 123_456_789) % 1e9 : (i * 123_457) % 1e6, wireLength: i % 5 === 0 ? len + 100 : len });
  }
  return out;
}

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Our reading of `file` equals tshark's, packet for packet. */
async function expectSameAsTshark(files: string[]): Promise<void> {
  const views = await mapLimited(files, 2, (f) => tsharkFrames(f));
  files.forEach((file, k) => {
    const got = flatten(readBatches(PcapReader.open(file), 16));
    const frames = views[k];
    expect(got.length, `${file}: count`).toBe(frames.length);
    got.forEach((p, i) => {
      expect(`${p.bytes.length} ${p.wireLength} ${epochString(p.tsSec, p.tsNsec)} ${md5(p.bytes)}`, `${path.basename(file)} packet ${i}`).toBe(`${frames[i].capLen} ${frames[i].len} ${frames[i].epoch} ${frames[i].md5}`);
    });
  });
}

const classicCases = [
  { littleEndian: true, nano: false, linkType: LINKTYPE_ETHERNET },
  { littleEndian: false, nano: false, linkType: LINKTYPE_ETHERNET },
  { littleEndian: true, nano: true, linkType: LINKTYPE_RAW },
  { littleEndian: false, nano: true, linkType: LINKTYPE_LINUX_SLL },
  { littleEndian: true, nano: false, linkType: LINKTYPE_LINUX_SLL2 },
  { littleEndian: false, nano: false, linkType: 12 },
  { littleEndian: true, nano: true, linkType: 14 },
];

describe('classic pcap variants', () => {
  const files = classicCases.map((c, k) => {
    const pk = packets(40, c.nano, k + 1);
    return { c, pk, file: write(`classic-${k}-${c.littleEndian ? 'le' : 'be'}-${c.nano ? 'ns' : 'us'}-${c.linkType}.pcap`, buildClassicPcap(c, pk)) };
  });

  it('reads every field in both byte orders, µs and ns, and normalizes legacy raw-IP link types', () => {
    for (const { c, pk, file } of files) {
      const reader = PcapReader.open(file);
      expect(reader.format).toBe('pcap');
      expect(reader.precision).toBe(c.nano ? 9 : 6);
      const expectedLink = c.linkType === 12 || c.linkType === 14 ? LINKTYPE_RAW : c.linkType;
      expect(reader.linkType).toBe(expectedLink);
      const got = flatten(readBatches(reader, 16));
      expect(got.length).toBe(pk.length);
      got.forEach((p, i) => {
        expect(p.linkType).toBe(expectedLink);
        expect(p.bytes).toEqual(pk[i].bytes);
        expect(p.wireLength).toBe(pk[i].wireLength);
        expect(p.tsSec).toBe(pk[i].tsSec);
        expect(p.tsNsec).toBe(c.nano ? pk[i].tsFrac : pk[i].tsFrac * 1000);
      });
      expect(reader.badRecordCount).toBe(0);
    }
  });

  it('agrees with tshark on every variant', async () => {
    if (!tsharkOrFail()) return;
    await expectSameAsTshark(files.map((f) => f.file));
  });
});

/** A two-section pcapng: LE section with three interfaces, then a BE section with two. */
function mixedPcapng(): { blocks: NgBlock[]; expected: { linkType: number; bytes: Uint8Array; sec: number; nsec: number }[] } {
  const blocks: NgBlock[] = [{ kind: 'shb', littleEndian: true }];
  const expected: { linkType: number; bytes: Uint8Array; sec: number; nsec: number }[] = [];
  // Interface 0: Ethernet, microseconds (default). 1: raw IP, nanoseconds. 2: SLL2, 2^-6 s ticks.
  blocks.push({ kind: 'idb', linkType: 1, snaplen: 65535 });
  blocks.push({ kind: 'idb', linkType: 101, tsresol: 9 });
  blocks.push({ kind: 'other', type: 4, body: new Uint8Array(4) }); // name resolution block: skipped
  blocks.push({ kind: 'idb', linkType: 276, tsresol: 0x86 });
  const ifaces = [
    { linkType: 1, perSec: 1_000_000n },
    { linkType: 101, perSec: 1_000_000_000n },
    { linkType: 276, perSec: 64n },
  ];
  const order = [0, 0, 1, 1, 1, 2, 0, 2, 2, 1, 0, 0];
  order.forEach((ifc, i) => {
    const sec = 1_700_000_000n + BigInt(i);
    const ticks = sec * ifaces[ifc].perSec + ((BigInt(i) * 7919n) % ifaces[ifc].perSec);
    const bytes = fakeBytes(500 + i, 30 + i * 11);
    blocks.push(i === 3 ? { kind: 'pb', iface: ifc, ticks, bytes } : { kind: 'epb', iface: ifc, ticks, bytes, comment: i % 2 === 0 ? `packet ${i}` : undefined });
    const rem = ticks % ifaces[ifc].perSec;
    expected.push({ linkType: ifaces[ifc].linkType, bytes, sec: Number(ticks / ifaces[ifc].perSec), nsec: Number((rem * 1_000_000_000n) / ifaces[ifc].perSec) });
  });
  // Second section, big-endian: its interfaces replace the first section's.
  blocks.push({ kind: 'shb', littleEndian: false });
  blocks.push({ kind: 'idb', linkType: 113, tsresol: 3 });
  blocks.push({ kind: 'idb', linkType: 1, tsresol: 9, snaplen: 100 });
  for (let i = 0; i < 6; i++) {
    const ifc = i < 3 ? 0 : 1;
    const bytes = fakeBytes(900 + i, 60 + i);
    const ms = 1_650_000_000_123n + BigInt(i);
    const ticks = ifc === 0 ? ms : ms * 1_000_000n + 456n;
    if (i === 4) {
      // Simple packet block: interface 0 of the section, no timestamp.
      blocks.push({ kind: 'spb', bytes });
      expected.push({ linkType: 113, bytes, sec: 0, nsec: 0 });
      continue;
    }
    blocks.push({ kind: 'epb', iface: ifc, ticks, bytes });
    expected.push({ linkType: ifc === 0 ? 113 : 1, bytes, sec: Number(ms / 1000n), nsec: ifc === 0 ? Number(ms % 1000n) * 1_000_000 : Number(ms % 1000n) * 1_000_000 + 456 });
  }
  return { blocks, expected };
}

describe('pcapng', () => {
  const { blocks, expected } = mixedPcapng();
  const file = write('mixed.pcapng', buildPcapng(blocks));

  it('reads two sections of different byte order with their own interfaces, resolutions and link types', () => {
    const reader = PcapReader.open(file);
    expect(reader.format).toBe('pcapng');
    expect(reader.linkType).toBe(1);
    const batches = readBatches(reader, 256);
    const got = flatten(batches);
    expect(got.length).toBe(expected.length);
    got.forEach((p, i) => {
      expect({ i, linkType: p.linkType, sec: p.tsSec, nsec: p.tsNsec }).toEqual({ i, linkType: expected[i].linkType, sec: expected[i].sec, nsec: expected[i].nsec });
      expect(p.bytes).toEqual(expected[i].bytes);
      expect(p.id).toBe(i);
    });
    // One batch per run of one link type.
    const runs = expected.reduce((r, e, i) => r + (i === 0 || e.linkType !== expected[i - 1].linkType ? 1 : 0), 0);
    expect(batches.length).toBe(runs);
    expect(reader.badRecordCount).toBe(0);
  });

  it('splits batches at maxPackets as well as at link-type changes', () => {
    const got = flatten(readBatches(PcapReader.open(file), 2));
    expect(got.map((p) => p.id)).toEqual(expected.map((_, i) => i));
  });

  const ps = 1_700_000_000_123_456_789_012n & 0xffffffffffffffffn;
  const bin = (1_700_000_000n << 10n) + 1023n;
  const nsMax = 0xffffffffffffffffn;
  const resolutions = write(
    'resolutions.pcapng',
    buildPcapng([
      { kind: 'shb', littleEndian: true },
      { kind: 'idb', linkType: 1, tsresol: 12 },
      { kind: 'idb', linkType: 1, tsresol: 0x8a },
      { kind: 'idb', linkType: 1, tsresol: 9, tsoffset: 1000n },
      { kind: 'epb', iface: 0, ticks: ps, bytes: fakeBytes(1, 40) },
      { kind: 'epb', iface: 1, ticks: bin, bytes: fakeBytes(2, 40) },
      { kind: 'epb', iface: 2, ticks: nsMax, bytes: fakeBytes(3, 40) },
    ]),
  );

  it('converts 64-bit tick counts exactly, fine and binary resolutions and if_tsoffset included', () => {
    const got = flatten(readBatches(PcapReader.open(resolutions)));
    expect([got[0].tsSec, got[0].tsNsec]).toEqual([Number(ps / 10n ** 12n), Number((ps % 10n ** 12n) / 1000n)]);
    expect([got[1].tsSec, got[1].tsNsec]).toEqual([1_700_000_000, Math.floor((1023 * 1e9) / 1024)]);
    expect([got[2].tsSec, got[2].tsNsec]).toEqual([Number(nsMax / 1_000_000_000n) + 1000, Number(nsMax % 1_000_000_000n)]);
  });

  it('skips unknown blocks and packet-block options', () => {
    const blocks3: NgBlock[] = [
      { kind: 'shb', littleEndian: false },
      { kind: 'other', type: 0x12345678, body: fakeBytes(7, 50) },
      { kind: 'idb', linkType: 1 },
      { kind: 'epb', iface: 0, ticks: 5_000_001n, bytes: fakeBytes(8, 64), comment: 'x'.repeat(200) },
      { kind: 'other', type: 5, body: new Uint8Array(12) },
      { kind: 'epb', iface: 0, ticks: 6_000_002n, bytes: fakeBytes(9, 65) },
    ];
    const reader = PcapReader.fromBytes(buildPcapng(blocks3), 'gen.pcapng');
    const got = flatten(readBatches(reader));
    expect(got.map((p) => [p.bytes.length, p.tsSec, p.tsNsec])).toEqual([
      [64, 5, 1000],
      [65, 6, 2000],
    ]);
    expect(reader.badRecordCount).toBe(0);
  });

  it('agrees with tshark on the generated pcapng files', async () => {
    if (!tsharkOrFail()) return;
    // tshark 4.0 overflows 64 bits scaling sub-nanosecond ticks (rem * 10^9 before dividing), so
    // packet 0 of resolutions.pcapng (picoseconds) is checked against BigInt arithmetic above only.
    const resFrames = await tsharkFrames(resolutions);
    const resGot = flatten(readBatches(PcapReader.open(resolutions)));
    expect(resFrames.length).toBe(3);
    for (const i of [1, 2]) expect(`${epochString(resGot[i].tsSec, resGot[i].tsNsec)} ${md5(resGot[i].bytes)}`).toBe(`${resFrames[i].epoch} ${resFrames[i].md5}`);
    // The mixed file has one SPB packet (no timestamp; tshark shows the previous time): skip its time.
    const frames = await tsharkFrames(file);
    const got = flatten(readBatches(PcapReader.open(file)));
    expect(frames.length).toBe(got.length);
    got.forEach((p, i) => {
      expect(md5(p.bytes), `packet ${i}`).toBe(frames[i].md5);
      if (i !== 16) expect(epochString(p.tsSec, p.tsNsec), `packet ${i}`).toBe(frames[i].epoch);
    });
  });
});
