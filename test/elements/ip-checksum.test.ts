import { describe, expect, it } from 'vitest';
import { checksumAfterTtlDecrement, checksumUpdate16, checksumVerifies, internetChecksum, ipv4HeaderVerifies, onesComplementSum, setIPv4HeaderChecksum } from '../../core/net/ip-checksum.js';
import { formatIPv4, parseIPv4 } from '../../core/net/ipv4.js';

describe('internet checksum', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
    const d = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(onesComplementSum(d, 0, 8)).toBe(0xddf2);
    expect(internetChecksum(d, 0, 8)).toBe(0x220d);
  });

  it('verifies a real IPv4 header and detects a flipped bit', () => {
    // 45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7 (Wikipedia's example, checksum b861)
    const h = Uint8Array.from([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);
    expect(checksumVerifies(h, 0, 20)).toBe(true);
    const copy = h.slice();
    setIPv4HeaderChecksum(copy, 0);
    expect(copy).toEqual(h);
    h[15] ^= 4;
    expect(checksumVerifies(h, 0, 20)).toBe(false);
  });

  it('RFC 1624 update equals a full recompute for random words and changes', () => {
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed >>> 16;
    };
    const wrong: string[] = [];
    for (let t = 0; t < 20000; t++) {
      const d = Uint8Array.from({ length: 20 }, () => rnd() & 0xff);
      d[0] = 0x45;
      setIPv4HeaderChecksum(d, 0);
      const w = 2 * (rnd() % 10);
      if (w === 10) continue;
      const oldWord = (d[w] << 8) | d[w + 1];
      const newWord = rnd();
      const inc = checksumUpdate16((d[10] << 8) | d[11], oldWord, newWord);
      d[w] = newWord >> 8;
      d[w + 1] = newWord & 0xff;
      // Full recompute over the fixed 20 bytes (the changed word may be the IHL's).
      d[10] = 0;
      d[11] = 0;
      const full = internetChecksum(d, 0, 20);
      if (inc !== full) wrong.push(`word ${w} ${oldWord.toString(16)} -> ${newWord.toString(16)}: ${inc.toString(16)} != ${full.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('parses and formats dotted quads as int32 bit patterns', () => {
    expect(parseIPv4('255.255.255.255')).toBe(-1);
    expect(parseIPv4('10.0.0.1')).toBe(0x0a000001);
    expect(parseIPv4('256.0.0.1')).toBeNull();
    expect(parseIPv4('1.2.3')).toBeNull();
    expect(formatIPv4(parseIPv4('192.168.1.200')!)).toBe('192.168.1.200');
  });
});

describe('per-packet checksum forms', () => {
  it('ipv4HeaderVerifies agrees with checksumVerifies on random headers with and without options', () => {
    let seed = 99;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let k = 0; k < 2000; k++) {
      const hl = 20 + 4 * (k % 11);
      const d = new Uint8Array(hl + 3);
      for (let i = 0; i < d.length; i++) d[i] = rand();
      d[3] = 0x45 & 0xff;
      if (k % 2 === 0) {
        d[3 + 10] = 0;
        d[3 + 11] = 0;
        const c = internetChecksum(d, 3, hl);
        d[3 + 10] = c >>> 8;
        d[3 + 11] = c & 255;
      }
      expect(ipv4HeaderVerifies(d, 3, hl)).toBe(checksumVerifies(d, 3, hl));
    }
  });

  it('checksumAfterTtlDecrement is checksumUpdate16 for every checksum and TTL:protocol word', () => {
    for (let c = 0; c < 0x10000; c += 7) {
      for (const word of [0x0101, 0x4006, 0xff11, 0x0200]) expect(checksumAfterTtlDecrement(c)).toBe(checksumUpdate16(c, word, word - 0x100));
    }
  });
});
