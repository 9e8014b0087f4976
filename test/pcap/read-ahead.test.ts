/**
 * Read-ahead: the next chunk read on libuv's I/O thread gives exactly the packets synchronous
 * reads give, across many window switches (small chunks), records cut by a window's end,
 * rewinds, and buffers recycled as batches are released.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { PCAP_DIR, md5 } from './pcap-test-support.js';

async function digest(file: string, readAhead: boolean, passes: number): Promise<string[]> {
  const r = PcapReader.open(file, { chunkBytes: 96 * 1024, readAhead });
  const out: string[] = [];
  let seq = 0;
  for (let pass = 0; pass < passes; pass++) {
    if (pass > 0) r.rewind();
    for (;;) {
      const pending = r.readAheadPending();
      // Alternate: sometimes wait for the read-ahead, sometimes race ahead of it (sync fallback).
      if (pending !== null && seq % 3 !== 0) await pending;
      const b: PacketBatch | null = r.nextBatch(seq, 100);
      if (b === null) break;
      for (let i = 0; i < b.count; i++) {
        out.push(`${b.id[i]} ${b.length[i]} ${b.tsSec[i]}.${b.tsNsec[i]} ${md5(b.bytes(i))}`);
        b.data[b.offset[i]] ^= 0xff; // edit in place, as elements do: must not leak into later passes
      }
      r.release(seq - 2);
      seq++;
    }
  }
  expect(r.badRecordCount).toBe(0);
  r.close();
  return out;
}

describe('PcapReader read-ahead', () => {
  it('yields the same packets as synchronous reads, over window switches and rewinds', async () => {
    const file = path.join(PCAP_DIR, 'pcapplusplus/example.pcap');
    const sync = await digest(file, false, 2);
    const ahead = await digest(file, true, 2);
    expect(sync.length).toBe(4631 * 2);
    expect(ahead).toEqual(sync);
  });
});

describe('PcapReader batch objects', () => {
  it('reuses a batch object only after its sequence number is released', () => {
    const r = PcapReader.open(path.join(PCAP_DIR, 'pcapplusplus/example.pcap'));
    const first = r.nextBatch(0, 64)!;
    const second = r.nextBatch(1, 64)!;
    expect(second).not.toBe(first);
    const third = r.nextBatch(2, 64)!;
    expect([third].includes(first)).toBe(false);
    r.release(0);
    const fourth = r.nextBatch(3, 64)!;
    expect(fourth).toBe(first);
    expect(fourth.seq).toBe(3);
    expect(fourth.id[0]).toBe(192);
    expect(second.id[0]).toBe(64);
    r.close();
  });
});
