/**
 * Large captures the benchmarks generate once and keep under .cache/bench (ignored by git):
 * classic pcap, Ethernet frames carrying valid IPv4/UDP headers (checksummed, TTL 64) to
 * seeded-random unicast destinations, frame lengths uniform in [minFrame, maxFrame].
 *   readCapture     ~512 MiB of 64-1514 B frames (mean ~790 B, like the 1.2 GB capture):
 *                   what FromDump -> Discard pulls from the page cache
 *   routerCapture   1M frames of 64-128 B to random destinations (the router workload)
 * A file is written under a temporary name and renamed when complete, so a bench killed
 * mid-write never leaves a short capture behind; its name carries every parameter.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './paths.js';

export interface CaptureSpec {
  packets: number;
  minFrame: number;
  maxFrame: number;
  seed: number;
}

export const READ_CAPTURE: CaptureSpec = { packets: 680_000, minFrame: 64, maxFrame: 1514, seed: 14 };
export const ROUTER_CAPTURE: CaptureSpec = { packets: 1_000_000, minFrame: 64, maxFrame: 128, seed: 6 };

/** mulberry32: small, seeded, good enough for addresses and lengths. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Path of the capture for `spec` under .cache/bench, written first if it is not there yet. */
export function generatedCapture(spec: CaptureSpec): string {
  const dir = path.join(projectRoot(), '.cache', 'bench');
  const file = path.join(dir, `gen-${spec.packets}p-${spec.minFrame}-${spec.maxFrame}B-s${spec.seed}.pcap`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeCapture(tmp, spec);
  renameSync(tmp, file);
  return file;
}

function writeCapture(file: string, spec: CaptureSpec): void {
  const next = rng(spec.seed);
  const chunk = new Uint8Array(4 << 20);
  const dv = new DataView(chunk.buffer);
  const fd = openSync(file, 'w');
  try {
    // Classic pcap header: microsecond timestamps, snaplen 65535, Ethernet.
    dv.setUint32(0, 0xa1b2c3d4, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setUint32(16, 65535, true);
    dv.setUint32(20, 1, true);
    let used = 24;
    const span = spec.maxFrame - spec.minFrame + 1;
    for (let i = 0; i < spec.packets; i++) {
      const frame = spec.minFrame + (next() % span);
      if (used + 16 + frame > chunk.length) {
        writeSync(fd, chunk, 0, used);
        used = 0;
      }
      const p = used;
      dv.setUint32(p, 1_700_000_000 + Math.floor(i / 1_000_000), true);
      dv.setUint32(p + 4, i % 1_000_000, true);
      dv.setUint32(p + 8, frame, true);
      dv.setUint32(p + 12, frame, true);
      const f = p + 16;
      chunk.fill(0, f, f + frame);
      // Ethernet: locally administered MACs, IPv4.
      chunk[f] = 0x02;
      chunk[f + 5] = 0x01;
      chunk[f + 6] = 0x02;
      chunk[f + 11] = 0x02;
      dv.setUint16(f + 12, 0x0800);
      // IPv4: unicast destination (first octet 1..223), source 10.x.y.z.
      const ip = f + 14;
      const total = frame - 14;
      chunk[ip] = 0x45;
      dv.setUint16(ip + 2, total);
      dv.setUint16(ip + 4, i & 0xffff);
      chunk[ip + 8] = 64;
      chunk[ip + 9] = 17;
      dv.setUint32(ip + 12, (0x0a000000 | (next() & 0xffffff)) >>> 0);
      const r = next();
      dv.setUint32(ip + 16, ((1 + (r % 223)) * 0x1000000 + (next() & 0xffffff)) >>> 0);
      let sum = 0;
      for (let k = 0; k < 20; k += 2) sum += dv.getUint16(ip + k);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      dv.setUint16(ip + 10, ~sum & 0xffff);
      // UDP: ports 1024 -> 9, length, no checksum.
      dv.setUint16(ip + 20, 1024 + (i & 0x3fff));
      dv.setUint16(ip + 22, 9);
      dv.setUint16(ip + 24, total - 20);
      used += 16 + frame;
    }
    writeSync(fd, chunk, 0, used);
  } finally {
    closeSync(fd);
  }
}
