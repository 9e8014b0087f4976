/**
 * PcapReader's batches on the shared captures: headroom and id invariants, one link type per
 * batch, the chunked window agreeing with the whole-file read, rewinding.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { CHUNK_BYTES, WINDOW_BYTES } from '../../core/pcap/file-window.js';
import { DEFAULT_HEADROOM, MIN_HEADROOM, type PacketBatch } from '../../core/packet-batch.js';
import { flatten, md5, PCAP_DIR, readBatches, sharedCaptures, tempDir } from './pcap-test-support.js';
import { buildClassicPcap, fakeBytes } from './capture-builder.js';

const files = sharedCaptures();

describe('PcapReader batches', () => {
  it('keeps batch invariants: headroom in front, ids from 0, one link type per batch', () => {
    for (const file of files) {
      const reader = PcapReader.open(file);
      let next = 0;
      for (const b of readBatches(reader, 7)) {
        expect(b.count).toBeGreaterThan(0);
        for (let i = 0; i < b.count; i++) {
          expect(b.id[i]).toBe(next++);
          expect(b.offset[i] - b.base[i]).toBe(reader.format === 'pcap' ? MIN_HEADROOM : DEFAULT_HEADROOM);
          expect(b.base[i]).toBeGreaterThanOrEqual(i === 0 ? 0 : b.offset[i - 1] + b.length[i - 1]);
          expect(b.offset[i] + b.length[i]).toBeLessThanOrEqual(b.data.length);
          // Copied (pcapng) packets get zeroed headroom; zero-copy pcap packets have their record header there.
          if (reader.format === 'pcapng') expect(b.data.subarray(b.base[i], b.offset[i]).every((x) => x === 0)).toBe(true);
        }
      }
      expect(reader.badRecordCount).toBe(0);
      reader.close();
    }
  });

  it('gives the pcapng example one batch per run of one interface, with that interface link type', () => {
    const reader = PcapReader.open(path.join(PCAP_DIR, 'pcapplusplus/pcapng-example.pcapng'));
    expect(reader.format).toBe('pcapng');
    const batches = readBatches(reader, 256);
    const perType = new Map<number, number>();
    for (const b of batches) perType.set(b.linkType, (perType.get(b.linkType) ?? 0) + b.count);
    // capinfos: 59 Ethernet packets (interface 0), 100 Linux cooked v1 (interface 1, LINKTYPE 113).
    expect(Object.fromEntries(perType)).toEqual({ 1: 59, 113: 100 });
    // Batches never mix link types: the first starts at packet 0, each change starts a new one.
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.every((b) => b.count > 0 && b.count <= 256)).toBe(true);
  });

  it('reads the same packets through a small window as from memory (chunk boundaries)', () => {
    const file = path.join(PCAP_DIR, 'pcapplusplus/example.pcap');
    const whole = flatten(readBatches(PcapReader.open(file), 256));
    const chunked = flatten(readBatches(PcapReader.open(file, { chunkBytes: 5000 }), 256));
    expect(chunked.length).toBe(4631);
    expect(chunked.length).toBe(whole.length);
    // Compare digests, not arrays: deep equality of 4,631 byte arrays is needlessly slow.
    expect(chunked.map((p) => `${md5(p.bytes)} ${p.tsSec}.${p.tsNsec} ${p.wireLength} ${p.id}`)).toEqual(whole.map((p) => `${md5(p.bytes)} ${p.tsSec}.${p.tsNsec} ${p.wireLength} ${p.id}`));
    const ng = path.join(PCAP_DIR, 'pcapplusplus/pcapng-example.pcapng');
    const ngWhole = flatten(readBatches(PcapReader.open(ng), 256));
    const ngChunked = flatten(readBatches(PcapReader.open(ng, { chunkBytes: 1000 }), 256));
    expect(ngChunked.map((p) => md5(p.bytes))).toEqual(ngWhole.map((p) => md5(p.bytes)));
    expect(ngChunked.map((p) => p.linkType)).toEqual(ngWhole.map((p) => p.linkType));
  });

  it('reads in small pieces appended in place: same packets, batches not cut at piece ends, edits kept', () => {
    // A window of 256 KiB read 300 or 4096 bytes at a time: batches grow across piece ends within
    // one window (only a window switch ends one early), and bytes already handed out (here edited
    // in place, as elements do) are never read over.
    for (const rel of ['pcapplusplus/example.pcap', 'pcapplusplus/pcapng-example.pcapng']) {
      const file = path.join(PCAP_DIR, rel);
      const digestOf = (b: { bytes(i: number): Uint8Array; count: number }, i: number): string => md5(b.bytes(i));
      const read = (pieceBytes: number): { digests: string[]; batches: number } => {
        const r = PcapReader.open(file, { chunkBytes: 256 * 1024, pieceBytes });
        const digests: string[] = [];
        let batches = 0;
        for (let seq = 0; ; seq++) {
          const b = r.nextBatch(seq, 64);
          if (b === null) break;
          batches++;
          for (let i = 0; i < b.count; i++) {
            digests.push(digestOf(b, i));
            b.data[b.offset[i]] ^= 0xff;
          }
        }
        expect(r.badRecordCount).toBe(0);
        r.close();
        return { digests, batches };
      };
      const whole = read(256 * 1024);
      for (const piece of [300, 4096]) {
        const small = read(piece);
        expect(small.digests, `${rel} piece ${piece}`).toEqual(whole.digests);
        expect(small.batches, `${rel} piece ${piece}: batches`).toBe(whole.batches);
      }
    }
  });

  it('rewinds to replay the file with ids counting on', () => {
    const reader = PcapReader.open(path.join(PCAP_DIR, 'tcpdump/dns_tcp.pcap'));
    const first = flatten(readBatches(reader, 4));
    reader.rewind();
    const second = flatten(readBatches(reader, 4));
    expect(first.length).toBe(11);
    expect(second.map((p) => p.id)).toEqual(first.map((p) => p.id + 11));
    expect(second.map((p) => md5(p.bytes))).toEqual(first.map((p) => md5(p.bytes)));
  });

  describe('reads a plain file over CHUNK_BYTES in WINDOW_BYTES windows by default', () => {
    const dir = tempDir();
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    // Sizes up to a full 1514-byte frame and a few 60 KiB records, so that records cross piece
    // and window ends; both byte orders and both resolutions; the last record cut short.
    const variants = [
      { name: 'le-usec', opts: { littleEndian: true, nano: false } },
      { name: 'be-nsec', opts: { littleEndian: false, nano: true } },
    ];
    for (const v of variants) {
      it(`${v.name}: the packets, bad record and edits of a read from memory, batches zero-copy in fresh windows`, () => {
        const packets = Array.from({ length: 5200 }, (_, i) => {
          const size = i % 997 === 0 ? 60_000 : 60 + ((i * 7919) % 1455);
          return { bytes: fakeBytes(i + 1, size), tsSec: 1_700_000_000 + i, tsFrac: (i * 104_729) % (v.opts.nano ? 1_000_000_000 : 1_000_000) };
        });
        const whole = buildClassicPcap(v.opts, packets);
        // The last record claims 40 bytes more than the file holds.
        const bytes = whole.subarray(0, whole.length - 40);
        expect(bytes.length).toBeGreaterThan(CHUNK_BYTES);
        const file = path.join(dir, `${v.name}.pcap`);
        fs.writeFileSync(file, bytes);
        const read = (reader: PcapReader): { packets: string[]; bad: string[]; windows: Set<number> } => {
          const out: string[] = [];
          const windows = new Set<number>();
          for (let seq = 0; ; seq++) {
            const b = reader.nextBatch(seq, 1024);
            if (b === null) break;
            windows.add(b.data.length);
            for (let i = 0; i < b.count; i++) {
              out.push(`${b.id[i]} ${b.length[i]} ${b.wireLength[i]} ${b.tsSec[i]}.${b.tsNsec[i]} ${b.offset[i] - b.base[i]} ${md5(b.data.subarray(b.base[i], b.offset[i] + b.length[i]))}`);
              // Edited in place, as elements do: must not show in packets read later.
              b.data[b.offset[i]] ^= 0xff;
            }
            // Released two batches late: windows are reused only once no batch points into them.
            reader.release(seq - 2);
          }
          const bad = reader.badRecords.map((r) => `${r.index} ${r.fileOffset} ${r.reason}`);
          reader.close();
          return { packets: out, bad, windows };
        };
        const ref = read(PcapReader.fromBytes(bytes, file));
        const got = read(PcapReader.open(file));
        expect(got.packets.length).toBe(packets.length - 1);
        expect(got.packets).toEqual(ref.packets);
        expect(got.bad).toEqual(ref.bad);
        expect(got.bad).toEqual([`${packets.length - 1} ${whole.length - 16 - packets[packets.length - 1].bytes.length} truncated record: incl_len ${packets[packets.length - 1].bytes.length} but only ${packets[packets.length - 1].bytes.length - 40} bytes left`]);
        // Windows of WINDOW_BYTES (one grown for nothing: no record is larger).
        expect([...got.windows]).toEqual([WINDOW_BYTES]);
      });
    }
  });

  describe('replays from memory a file that fits one window', () => {
    const dir = tempDir();
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const capture = (seed: number): Uint8Array =>
      buildClassicPcap({}, Array.from({ length: 500 }, (_, i) => ({ bytes: fakeBytes(seed + i, 60 + ((i * 37) % 900)), tsSec: 1_700_000_000 + i, tsFrac: i })));

    /** One pass's packets, then every packet's first byte overwritten in place (a pipeline that edits). */
    function passAndEdit(reader: PcapReader): string[] {
      const batches = readBatches(reader, 32);
      const digests = flatten(batches).map((p) => md5(p.bytes));
      for (const b of batches) for (let i = 0; i < b.count; i++) b.data[b.offset[i]] ^= 0xff;
      return digests;
    }

    it('replays pristine bytes after in-place edits, the copy taken at the first rewind (the file is not read again)', () => {
      const file = path.join(dir, 'replay.pcap');
      fs.writeFileSync(file, capture(1));
      const reader = PcapReader.open(file);
      const first = passAndEdit(reader);
      reader.rewind();
      // Changed after the copy (same size): a window that fits the file replays the copy.
      fs.writeFileSync(file, capture(2));
      const second = passAndEdit(reader);
      reader.rewind();
      const third = passAndEdit(reader);
      reader.close();
      expect(first.length).toBe(500);
      expect(second).toEqual(first);
      expect(third).toEqual(first);
    });

    it('never refills a pass buffer that batches still point into, however late they are released', () => {
      const file = path.join(dir, 'held.pcap');
      fs.writeFileSync(file, capture(3));
      const reader = PcapReader.open(file);
      const fresh = PcapReader.open(file);
      const pristine = passAndEdit(fresh);
      fresh.close();
      const digestsOf = (b: PacketBatch): string[] => Array.from({ length: b.count }, (_, i) => md5(b.bytes(i)));
      // 500 packets at batch 32: 16 batches a pass. Released `lag` batches late, so batches of
      // up to two passes back are in flight while later passes are filled.
      let seq = 0;
      for (const lag of [0, 5, 20, 40]) {
        const held: { batch: PacketBatch; digests: string[] }[] = [];
        for (let pass = 0; pass < 6; pass++) {
          reader.rewind();
          for (let b = reader.nextBatch(seq, 32); b !== null; b = reader.nextBatch(seq, 32)) {
            const at = b.id[0] % 500;
            expect(digestsOf(b)).toEqual(pristine.slice(at, at + b.count));
            // Edited in place, as a pipeline does: a held batch keeps its edits, the next pass must not see them.
            for (let i = 0; i < b.count; i++) b.data[b.offset[i]] ^= 0xff;
            held.push({ batch: b, digests: digestsOf(b) });
            while (held.length > lag) {
              const old = held.shift()!;
              expect(digestsOf(old.batch)).toEqual(old.digests);
              reader.release(old.batch.seq);
            }
            seq++;
          }
        }
        for (const h of held) expect(digestsOf(h.batch)).toEqual(h.digests);
        reader.release(seq - 1);
      }
      reader.close();
    });

    it('reads a file larger than its window again on each rewind (no copy beyond one window)', () => {
      const file = path.join(dir, 'reread.pcap');
      fs.writeFileSync(file, capture(1));
      const reader = PcapReader.open(file, { chunkBytes: 64 << 10 });
      expect(fs.statSync(file).size).toBeGreaterThan(64 << 10);
      const first = passAndEdit(reader);
      reader.rewind();
      const second = passAndEdit(reader);
      fs.writeFileSync(file, capture(2));
      reader.rewind();
      const third = passAndEdit(reader);
      reader.close();
      expect(second).toEqual(first);
      expect(third).not.toEqual(first);
      expect(third.length).toBe(500);
    });
  });
});
