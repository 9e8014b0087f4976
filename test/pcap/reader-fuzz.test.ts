/**
 * Corruption fuzzing (deterministic): real captures with random bytes overwritten or cut at a
 * random point never make the reader throw after the header, never yield a packet window
 * outside its arena, and every packet recorded wholly before the first damaged byte comes out
 * unchanged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { PcapFormatError } from '../../core/pcap/pcap-errors.js';
import { DEFAULT_HEADROOM, MIN_HEADROOM } from '../../core/packet-batch.js';
import { md5, PCAP_DIR, readBatches } from './pcap-test-support.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Packet digests and where each packet's bytes end in the file (found by locating them). */
function reference(bytes: Uint8Array, name: string): { digest: string; end: number }[] {
  const out: { digest: string; end: number }[] = [];
  let from = 0;
  for (const b of readBatches(PcapReader.fromBytes(bytes, name))) {
    for (let i = 0; i < b.count; i++) {
      const pk = b.bytes(i);
      // Packets appear in file order; find this one's bytes after the previous one.
      let at = from;
      outer: for (; at + pk.length <= bytes.length; at++) {
        for (let k = 0; k < pk.length; k++) if (bytes[at + k] !== pk[k]) continue outer;
        break;
      }
      from = at + pk.length;
      out.push({ digest: md5(pk), end: from });
    }
  }
  return out;
}

const cases = ['pcapplusplus/pcapng-example.pcapng', 'tcpdump/dns_tcp.pcap', 'pcapplusplus/VlanPackets.pcap'];

describe('PcapReader under random corruption', () => {
  for (const rel of cases) {
    it(`survives damaged copies of ${rel}`, () => {
      const original = new Uint8Array(fs.readFileSync(path.join(PCAP_DIR, rel)));
      const ref = reference(original, rel);
      const rand = rng(rel.length * 7919);
      // Damage only past the file/section header so the header check itself is not what we test.
      const headerEnd = rel.endsWith('.pcapng') ? new DataView(original.buffer).getUint32(4, true) : 24;
      for (let round = 0; round < 150; round++) {
        const bytes = original.slice();
        let firstDamage: number;
        let size = bytes.length;
        if (round % 3 === 0) {
          size = headerEnd + Math.floor(rand() * (bytes.length - headerEnd));
          firstDamage = size;
        } else {
          firstDamage = bytes.length;
          const flips = 1 + Math.floor(rand() * 4);
          for (let f = 0; f < flips; f++) {
            const at = headerEnd + Math.floor(rand() * (bytes.length - headerEnd));
            bytes[at] = Math.floor(rand() * 256);
            if (bytes[at] !== original[at]) firstDamage = Math.min(firstDamage, at);
          }
        }
        const damaged = bytes.subarray(0, size);
        let reader: PcapReader;
        try {
          reader = PcapReader.fromBytes(damaged, `${rel}#${round}`);
        } catch (e) {
          expect(e).toBeInstanceOf(PcapFormatError);
          continue;
        }
        const batches = readBatches(reader, 1 + (round % 50));
        let next = 0;
        const digests: string[] = [];
        for (const b of batches) {
          expect(b.count).toBeGreaterThan(0);
          for (let i = 0; i < b.count; i++) {
            expect(b.id[i]).toBe(next++);
            expect(b.offset[i] - b.base[i]).toBe(reader.format === 'pcap' ? MIN_HEADROOM : DEFAULT_HEADROOM);
            expect(b.length[i]).toBeGreaterThanOrEqual(0);
            expect(b.offset[i] + b.length[i]).toBeLessThanOrEqual(b.data.length);
            digests.push(md5(b.bytes(i)));
          }
        }
        // Every packet wholly before the first damaged byte is intact, in order. The margin covers
        // what follows a packet's bytes in its own record (pcapng padding, options, trailer).
        const intact = ref.filter((r) => r.end <= firstDamage - (rel.endsWith('.pcapng') ? 64 : 16)).map((r) => r.digest);
        expect(digests.slice(0, intact.length), `round ${round}`).toEqual(intact);
      }
    });
  }
});
