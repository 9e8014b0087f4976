/**
 * IPv4 header layout and address text, shared by elements and tests. Addresses are handled
 * as int32 bit patterns (the form the `dst` annotation column stores); `>>> 0` gives the
 * unsigned value where ordering or printing needs it.
 */
import { z } from 'zod';
import { quoteUserText } from '../quote-user-text.js';

/** Byte offsets of IPv4 header fields from the start of the header. */
export const IPV4 = {
  VERSION_IHL: 0,
  TOS: 1,
  TOTAL_LENGTH: 2,
  ID: 4,
  FRAG: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  MIN_HEADER: 20,
} as const;

/** pcap LINKTYPE_* values the elements switch between. */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const ETHER_HEADER_LENGTH = 14;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parse dotted-quad text into an int32 bit pattern, or null when it is not an address. */
export function parseIPv4(text: string): number | null {
  const m = DOTTED.exec(text.trim());
  if (m === null) return null;
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    const b = Number(m[k]);
    if (b > 255) return null;
    v = (v << 8) | b;
  }
  return v | 0;
}

export function formatIPv4(addr: number): string {
  const a = addr >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Read the 32-bit big-endian word at `p` as an int32 bit pattern. */
export function readBE32(data: Uint8Array, p: number): number {
  return (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
}

/**
 * The ports word (sport << 16 | dport) of the IPv4 packet whose header starts at `p`, `len`
 * bytes of it from there, or 0 where it has none to read: not TCP (6) or UDP (17), a later
 * fragment (offset not 0; a first fragment carries its ports), an IHL below 5, or fewer than
 * the transport header's first four bytes. What the ACL element matches and calibration times.
 */
export function transportPorts(data: Uint8Array, p: number, len: number): number {
  const pr = data[p + 9];
  if (pr !== 6 && pr !== 17) return 0;
  if ((((data[p + 6] & 0x1f) << 8) | data[p + 7]) !== 0) return 0;
  const ihl = (data[p] & 15) * 4;
  return ihl >= 20 && len >= ihl + 4 ? readBE32(data, p + ihl) : 0;
}

/** zod: a space-separated list of IPv4 addresses (Click's BADSRC style); empty text gives []. */
export const ipv4ListSchema = z.string().transform((s, ctx) => {
  const out: number[] = [];
  for (const word of s.split(/\s+/).filter((w) => w !== '')) {
    const v = parseIPv4(word);
    if (v === null) {
      ctx.addIssue({ code: 'custom', message: `expected IPv4 addresses separated by spaces, got ${quoteUserText(word)}` });
      return z.NEVER;
    }
    out.push(v);
  }
  return out;
});
