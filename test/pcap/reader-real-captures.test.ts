/**
 * Every capture in shared/data/pcaps read by PcapReader and by tshark: same packet count,
 * captured and wire lengths, timestamps to the nanosecond, bytes (MD5) and link type.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { epochString, flatten, mapLimited, md5, PCAP_DIR, readBatches, sharedCaptures, tsharkFrames, tsharkOrFail, type Frame } from './pcap-test-support.js';

const files = sharedCaptures();

/** Wireshark's internal encapsulation numbers (frame.encap_type) for the link types in the data. */
const WTAP_ENCAP_TO_LINKTYPE: Record<number, number> = { 1: 1, 7: 101, 25: 113 };

describe('PcapReader against tshark on the shared captures', () => {
  it('finds the captures the data README lists', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    const rel = files.map((f) => path.relative(PCAP_DIR, f));
    expect(rel).toContain('pcapplusplus/pcapng-example.pcapng');
    expect(rel).toContain('tcpdump/tcp-handshake-nano.pcap');
    expect(rel).toContain('community-id/pcaps/combined.pcap.gz');
  });

  it('agrees with tshark on every packet of every capture', async () => {
    if (!tsharkOrFail()) return;
    const views = await mapLimited(files, 2, (f) => tsharkFrames(f));
    const summary: string[] = [];
    for (let k = 0; k < files.length; k++) {
      const file = files[k];
      const name = path.relative(PCAP_DIR, file);
      const frames: Frame[] = views[k];
      const reader = PcapReader.open(file);
      const got = flatten(readBatches(reader, 64));
      reader.close();
      expect(got.length, `${name}: packet count`).toBe(frames.length);
      for (let i = 0; i < got.length; i++) {
        const p = got[i];
        const f = frames[i];
        const where = `${name} packet ${i}`;
        expect(p.bytes.length, `${where} cap_len`).toBe(f.capLen);
        expect(p.wireLength, `${where} len`).toBe(f.len);
        expect(epochString(p.tsSec, p.tsNsec), `${where} time`).toBe(f.epoch);
        expect(md5(p.bytes), `${where} bytes`).toBe(f.md5);
        expect(p.linkType, `${where} link type (wiretap encap ${f.encap})`).toBe(WTAP_ENCAP_TO_LINKTYPE[f.encap]);
      }
      summary.push(`${name}=${got.length}`);
    }
    expect(summary.length).toBe(files.length);
  });

});
