/**
 * IPv4 address and prefix text, in the forms route files and Click configurations use.
 * Addresses are carried as u32 numbers here and as int32 bit patterns in batch columns.
 */

import { formatIPv4 } from '../net/ipv4.js';

export { formatIPv4 };

/** Network mask of a prefix length as u32 (len 0 gives 0). */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * Parse a dotted address to u32 (core/net/ipv4.ts's parseIPv4 gives the int32 pattern and
 * no short forms). `abbreviated` allows Click's short forms used with prefixes
 * ("18.26/16" means 18.26.0.0): missing octets on the right are zero.
 * Returns the u32 address or null.
 */
export function parseAddress(s: string, abbreviated = false): number | null {
  let v = 0;
  let octets = 0;
  let cur = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      cur = cur < 0 ? c - 48 : cur * 10 + (c - 48);
      if (cur > 255) return null;
    } else if (c === 46) {
      if (cur < 0 || octets === 4) return null;
      v = v * 256 + cur;
      octets++;
      cur = -1;
    } else return null;
  }
  if (octets !== 4) {
    if (!abbreviated || octets === 0) return null;
    for (let k = octets; k < 4; k++) v *= 256;
  }
  return v >>> 0;
}

/** Prefix length of a contiguous mask, or -1 when the mask has holes. */
export function maskLength(mask: number): number {
  let len = 0;
  while (len < 32 && ((mask >>> (31 - len)) & 1) === 1) len++;
  return maskOf(len) === mask >>> 0 ? len : -1;
}

export interface Prefix {
  /** Network address, host bits cleared (u32). */
  prefix: number;
  len: number;
}

/** Parse `ADDR/LEN`, `ADDR/MASK` or a bare `ADDR` (a /32). Host bits are masked. Returns an error string on failure. */
export function parsePrefix(s: string): Prefix | string {
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const addr = parseAddress(addrText, slash >= 0);
  if (addr === null) return `bad IPv4 address '${addrText}'`;
  if (slash < 0) return { prefix: addr, len: 32 };
  const lenText = s.slice(slash + 1);
  let len: number;
  if (/^\d{1,2}$/.test(lenText)) {
    len = Number(lenText);
    if (len > 32) return `prefix length ${len} is over 32`;
  } else {
    const mask = parseAddress(lenText);
    if (mask === null) return `bad prefix length or mask '${lenText}'`;
    len = maskLength(mask);
    if (len < 0) return `mask '${lenText}' is not contiguous`;
  }
  return { prefix: (addr & maskOf(len)) >>> 0, len };
}

export function formatPrefix(prefix: number, len: number): string {
  return `${formatIPv4(prefix)}/${len}`;
}
