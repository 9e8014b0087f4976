/**
 * The Internet checksum (RFC 1071) over bytes of a packet arena, and its incremental update
 * (RFC 1624). Both work on the arena in place with plain loops: they run once per packet.
 */

/**
 * One's-complement sum of `len` bytes at `start`, folded to 16 bits (not complemented).
 * An odd trailing byte is padded with zero, as RFC 1071 says.
 */
export function onesComplementSum(data: Uint8Array, start: number, len: number): number {
  let sum = 0;
  const end = start + (len & ~1);
  for (let p = start; p < end; p += 2) sum += (data[p] << 8) | data[p + 1];
  if (len & 1) sum += data[start + len - 1] << 8;
  // Folding twice is enough for any len below 2^17 bytes (an IPv4 header is at most 60).
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum field value for the bytes at `start` (with the checksum field zeroed first). */
export function internetChecksum(data: Uint8Array, start: number, len: number): number {
  return ~onesComplementSum(data, start, len) & 0xffff;
}

/** True when the bytes, checksum field included, verify (their sum is 0xffff). */
export function checksumVerifies(data: Uint8Array, start: number, len: number): boolean {
  return onesComplementSum(data, start, len) === 0xffff;
}

/**
 * True when the IPv4 header of `hl` bytes at `p` (IHL already checked: 20..60) verifies. The
 * 20 fixed bytes are unrolled, since nearly every header has no options: this runs per packet.
 */
export function ipv4HeaderVerifies(data: Uint8Array, p: number, hl: number): boolean {
  let sum =
    ((data[p] << 8) | data[p + 1]) +
    ((data[p + 2] << 8) | data[p + 3]) +
    ((data[p + 4] << 8) | data[p + 5]) +
    ((data[p + 6] << 8) | data[p + 7]) +
    ((data[p + 8] << 8) | data[p + 9]) +
    ((data[p + 10] << 8) | data[p + 11]) +
    ((data[p + 12] << 8) | data[p + 13]) +
    ((data[p + 14] << 8) | data[p + 15]) +
    ((data[p + 16] << 8) | data[p + 17]) +
    ((data[p + 18] << 8) | data[p + 19]);
  for (let q = p + 20, end = p + hl; q < end; q += 2) sum += (data[q] << 8) | data[q + 1];
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** Recompute and store the IPv4 header checksum of the header at `ip` (header length from IHL). */
export function setIPv4HeaderChecksum(data: Uint8Array, ip: number): void {
  const hl = (data[ip] & 0x0f) << 2;
  data[ip + 10] = 0;
  data[ip + 11] = 0;
  const c = internetChecksum(data, ip, hl);
  data[ip + 10] = c >>> 8;
  data[ip + 11] = c & 0xff;
}

/**
 * RFC 1624 equation 3: the new checksum after one 16-bit word of the covered data changes
 * from `oldWord` to `newWord`: HC' = ~(~HC + ~m + m'). Unlike equation 2 it never yields
 * 0xffff for data whose full recompute gives 0x0000 (RFC 1624 section 3).
 */
export function checksumUpdate16(oldChecksum: number, oldWord: number, newWord: number): number {
  let sum = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * `checksumUpdate16` for a TTL decrement: the word TTL:protocol drops by 0x0100, so ~m + m'
 * folds to the constant 0xfeff and the update needs only the old checksum (DecIPTTL, per packet).
 */
export function checksumAfterTtlDecrement(oldChecksum: number): number {
  let sum = (~oldChecksum & 0xffff) + 0xfeff;
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
