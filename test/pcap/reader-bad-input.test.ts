/**
 * Bad input: a bad file header is an error naming the file; a corrupt or truncated record is
 * counted with its packet index, never thrown, and every good packet before it comes out
 * (classic pcap stops there; pcapng resyncs on block lengths).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { PcapFormatError } from '../../core/pcap/pcap-errors.js';
import { buildClassicPcap, buildPcapng, fakeBytes, type NgBlock } from './capture-builder.js';
import { flatten, md5, PCAP_DIR, readBatches, tempDir, tsharkFrames, tsharkOrFail } from './pcap-test-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
// A plain Uint8Array: Buffer's slice() is a view, and the tests below corrupt copies.
const example = new Uint8Array(fs.readFileSync(path.join(PCAP_DIR, 'pcapplusplus/example.pcap')));

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Byte offsets of the records of a little-endian classic pcap. */
function recordOffsets(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let p = 24; p + 16 <= bytes.length; p += 16 + v.getUint32(p + 8, true)) out.push(p);
  return out;
}

describe('bad file headers', () => {
  it('names the file and the magic for a file that is not a capture', () => {
    const file = write('notes.pcap', new TextEncoder().encode('hello, this is not a capture file at all'));
    expect(() => PcapReader.open(file)).toThrow(PcapFormatError);
    expect(() => PcapReader.open(file)).toThrow(`${file}: not a pcap or pcapng file (magic 0x68656c6c)`);
  });

  it('names the file for an empty, a missing, a cut header, a bad version and a bad pcapng byte-order magic', () => {
    expect(() => PcapReader.open(write('empty.pcap', new Uint8Array(0)))).toThrow(/empty\.pcap: empty file/);
    expect(() => PcapReader.open(path.join(dir, 'missing.pcap'))).toThrow(/missing\.pcap: cannot open/);
    const good = buildClassicPcap({}, [{ bytes: fakeBytes(1, 60), tsSec: 1, tsFrac: 2 }]);
    expect(() => PcapReader.open(write('cut.pcap', good.subarray(0, 20)))).toThrow(/cut\.pcap: truncated pcap file header \(20 of 24 bytes\)/);
    const v1 = good.slice();
    v1[4] = 1;
    expect(() => PcapReader.open(write('v1.pcap', v1))).toThrow(/v1\.pcap: unsupported pcap version 1\.4/);
    const ng = buildPcapng([{ kind: 'shb', littleEndian: true }]);
    ng[8] = 0x99;
    expect(() => PcapReader.open(write('bom.pcapng', ng))).toThrow(/bom\.pcapng: corrupt pcapng section header \(byte-order magic/);
    expect(() => PcapReader.fromBytes(new Uint8Array([0xd4, 0xc3]), 'two-bytes')).toThrow('two-bytes: not a pcap or pcapng file (only 2 bytes)');
  });

  it('uses the display name given for errors', () => {
    const file = write('renamed.bin', new Uint8Array(64));
    expect(() => PcapReader.open(file, { name: 'config/x.pcap' })).toThrow('config/x.pcap: not a pcap or pcapng file (magic 0x00000000)');
  });
});

describe('truncated and corrupt classic pcap records', () => {
  const offsets = recordOffsets(example);
  const full = flatten(readBatches(PcapReader.fromBytes(example, 'example.pcap')));

  it('counts a truncated last record with its packet index; all earlier packets come out intact', async () => {
    const cutAt = offsets[3000] + 16 + 10; // 10 bytes into packet 3000's data
    const file = write('truncated.pcap', example.subarray(0, cutAt));
    const seen: number[] = [];
    const reader = PcapReader.open(file, { onBadRecord: (b) => seen.push(b.index) });
    const got = flatten(readBatches(reader, 256));
    expect(got.length).toBe(3000);
    expect(reader.badRecordCount).toBe(1);
    expect(reader.badRecords[0]).toMatchObject({ index: 3000, fileOffset: offsets[3000] });
    expect(reader.badRecords[0].reason).toMatch(/truncated record: incl_len \d+ but only 10 bytes left/);
    expect(seen).toEqual([3000]);
    expect(got.map((p) => md5(p.bytes))).toEqual(full.slice(0, 3000).map((p) => md5(p.bytes)));
    // tshark reads the same packets from the cut file.
    if (tsharkOrFail()) {
      const frames = await tsharkFrames(file);
      expect(frames.length).toBe(3000);
      expect(frames.map((f) => f.md5)).toEqual(got.map((p) => md5(p.bytes)));
    }
  });

  it('counts a record header cut short', () => {
    const reader = PcapReader.fromBytes(example.subarray(0, offsets[10] + 7), 'cut-header.pcap');
    expect(flatten(readBatches(reader)).length).toBe(10);
    expect(reader.badRecords).toEqual([{ index: 10, fileOffset: offsets[10], reason: 'truncated record header (7 of 16 bytes)' }]);
  });

  it('stops cleanly at an absurd incl_len in the middle of the file', () => {
    const bytes = example.slice();
    new DataView(bytes.buffer).setUint32(offsets[100] + 8, 0x7fffffff, true);
    const reader = PcapReader.fromBytes(bytes, 'absurd.pcap');
    const got = flatten(readBatches(reader, 64));
    expect(got.length).toBe(100);
    expect(reader.badRecords[0]).toMatchObject({ index: 100, fileOffset: offsets[100] });
    expect(reader.badRecords[0].reason).toMatch(/absurd incl_len 2147483647/);
  });

  it('finds the same cut through a small window (the record crosses a chunk boundary)', () => {
    const file = write('truncated-small-window.pcap', example.subarray(0, offsets[2000] + 100));
    const reader = PcapReader.open(file, { chunkBytes: 3000 });
    expect(flatten(readBatches(reader)).length).toBe(2000);
    expect(reader.badRecords.map((b) => b.index)).toEqual([2000]);
  });

  it('reads what a cut-short gzip file holds and counts the cut record and the cut stream', () => {
    const gz = zlib.gzipSync(example.subarray(0, offsets[50]));
    const file = write('cut.pcap.gz', gz.subarray(0, gz.length - 30));
    const reader = PcapReader.open(file);
    const n = flatten(readBatches(reader)).length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(50);
    // The record the cut went through (if any), then the stream itself, named with its offset.
    expect(reader.badRecordCount).toBeGreaterThanOrEqual(1);
    expect(reader.badRecordCount).toBeLessThanOrEqual(2);
    expect(reader.badRecords.at(-1)?.reason).toMatch(new RegExp(`^gzip data cut short at compressed byte ${gz.length - 30} `));
    expect(reader.nextId).toBe(n);
  });
});

describe('corrupt pcapng blocks', () => {
  const pkts = Array.from({ length: 20 }, (_, i) => fakeBytes(100 + i, 50 + i * 3));
  const blocks: NgBlock[] = [{ kind: 'shb', littleEndian: true }, { kind: 'idb', linkType: 1, tsresol: 9 }, ...pkts.map((bytes, i): NgBlock => ({ kind: 'epb', iface: 0, ticks: BigInt(i) * 1_000_000_001n, bytes }))];
  const good = buildPcapng(blocks);
  const v = new DataView(good.buffer);
  const blockAt: number[] = [];
  for (let p = 0; p < good.length; p += v.getUint32(p + 4, true)) blockAt.push(p);
  // blockAt[0] SHB, [1] IDB, [2 + i] packet i.
  const epb = (i: number): number => blockAt[2 + i];

  it('resyncs after a block with a broken length and keeps every other packet', () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(epb(5) + 4, 13, true);
    const reader = PcapReader.fromBytes(bytes, 'badlen.pcapng');
    const got = flatten(readBatches(reader, 4));
    expect(got.map((p) => md5(p.bytes))).toEqual(pkts.filter((_, i) => i !== 5).map(md5));
    expect(got.map((p) => p.id)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    expect(reader.badRecordCount).toBe(1);
    expect(reader.badRecords[0]).toMatchObject({ index: 5, fileOffset: epb(5) });
    expect(reader.badRecords[0].reason).toMatch(/bad length 13; resyncing/);
  });

  it('resyncs after a trailing length that disagrees, also through a small window', () => {
    const bytes = good.slice();
    const len = v.getUint32(epb(12) + 4, true);
    new DataView(bytes.buffer).setUint32(epb(12) + len - 4, len + 8, true);
    for (const chunkBytes of [undefined, 200]) {
      const file = write(`trailer-${chunkBytes ?? 'whole'}.pcapng`, bytes);
      const reader = PcapReader.open(file, { chunkBytes });
      const got = flatten(readBatches(reader, 5));
      expect(got.map((p) => md5(p.bytes))).toEqual(pkts.filter((_, i) => i !== 12).map(md5));
      expect(reader.badRecords.map((b) => b.index)).toEqual([12]);
    }
  });

  it('skips a packet naming an unknown interface or claiming more bytes than its block holds', () => {
    const bytes = good.slice();
    const dv = new DataView(bytes.buffer);
    dv.setUint32(epb(3) + 8, 7, true); // interface 7 of 1
    dv.setUint32(epb(9) + 20, 5000, true); // captured length beyond the block
    const reader = PcapReader.fromBytes(bytes, 'skips.pcapng');
    const got = flatten(readBatches(reader, 256));
    expect(got.map((p) => md5(p.bytes))).toEqual(pkts.filter((_, i) => i !== 3 && i !== 9).map(md5));
    expect(reader.badRecords.map((b) => [b.index, b.fileOffset])).toEqual([
      [3, epb(3)],
      [8, epb(9)],
    ]);
    expect(reader.badRecords[0].reason).toBe('packet names interface 7 but the section has 1');
  });

  it('counts a block cut short by the end of the file', () => {
    const reader = PcapReader.fromBytes(good.subarray(0, epb(17) + 30), 'cut.pcapng');
    expect(flatten(readBatches(reader)).length).toBe(17);
    expect(reader.badRecords).toHaveLength(1);
    expect(reader.badRecords[0]).toMatchObject({ index: 17, fileOffset: epb(17) });
    expect(reader.badRecords[0].reason).toMatch(/^truncated block: type 0x6/);
  });

  it('survives garbage after the last block, counting it once', () => {
    const bytes = new Uint8Array(good.length + 64);
    bytes.set(good);
    bytes.set(fakeBytes(9, 64), good.length);
    const reader = PcapReader.fromBytes(bytes, 'tail.pcapng');
    expect(flatten(readBatches(reader)).length).toBe(20);
    expect(reader.badRecordCount).toBe(1);
  });

  it('keeps only the first maxBadRecords in detail but counts all', () => {
    const bytes = good.slice();
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < 20; i += 2) dv.setUint32(epb(i) + 8, 3, true);
    const reader = PcapReader.fromBytes(bytes, 'many.pcapng', { maxBadRecords: 4 });
    expect(flatten(readBatches(reader)).length).toBe(10);
    expect(reader.badRecordCount).toBe(10);
    expect(reader.badRecords.map((b) => b.index)).toEqual([0, 1, 2, 3]);
  });
});
