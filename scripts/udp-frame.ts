/**
 * Real UDP/IPv4 Ethernet frames with both checksums set, for the live-interface tests, the live
 * benchmark's sender and anything else that puts crafted traffic on a wire.
 */
export function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function sum16(b: Uint8Array, start: number, len: number): number {
  let s = 0;
  for (let k = 0; k + 1 < len; k += 2) s += (b[start + k] << 8) | b[start + k + 1];
  if (len & 1) s += b[start + len - 1] << 8;
  return s;
}

export interface UdpFrameFields {
  dstMac: string;
  srcMac: string;
  src: number[];
  dst: number[];
  sport: number;
  dport: number;
  ttl?: number;
  id?: number;
  /** Whole frame length (at least 42); the payload is filled with a pattern from `id`. */
  frameLength: number;
}

/** An Ethernet + IPv4 + UDP frame with valid IP and UDP checksums. */
export function udpFrame(f: UdpFrameFields): Uint8Array {
  const b = new Uint8Array(f.frameLength);
  b.set(macBytes(f.dstMac), 0);
  b.set(macBytes(f.srcMac), 6);
  b[12] = 0x08;
  const ipLen = f.frameLength - 14;
  const ip = 14;
  b[ip] = 0x45;
  b[ip + 2] = ipLen >> 8;
  b[ip + 3] = ipLen & 0xff;
  const id = f.id ?? 0;
  b[ip + 4] = (id >> 8) & 0xff;
  b[ip + 5] = id & 0xff;
  b[ip + 8] = f.ttl ?? 64;
  b[ip + 9] = 17;
  b.set(f.src, ip + 12);
  b.set(f.dst, ip + 16);
  const ipSum = ~foldSum(sum16(b, ip, 20)) & 0xffff;
  b[ip + 10] = ipSum >> 8;
  b[ip + 11] = ipSum & 0xff;
  const udp = ip + 20;
  const udpLen = ipLen - 20;
  b[udp] = f.sport >> 8;
  b[udp + 1] = f.sport & 0xff;
  b[udp + 2] = f.dport >> 8;
  b[udp + 3] = f.dport & 0xff;
  b[udp + 4] = udpLen >> 8;
  b[udp + 5] = udpLen & 0xff;
  for (let k = 8; k < udpLen; k++) b[udp + k] = (id * 7 + k) & 0xff;
  const pseudo = sum16(b, ip + 12, 8) + 17 + udpLen;
  let c = ~foldSum(pseudo + sum16(b, udp, udpLen)) & 0xffff;
  if (c === 0) c = 0xffff;
  b[udp + 6] = c >> 8;
  b[udp + 7] = c & 0xff;
  return b;
}

