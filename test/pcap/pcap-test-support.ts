/**
 * Shared pieces of the pcap tests: where the shared captures are, tshark as the independent
 * reader (required under CI, skipped loudly elsewhere), a RuntimeEnv that records log lines,
 * config arguments, and reading a whole capture into flat per-packet records.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigArgs } from '../../core/config/args.js';
import type { RuntimeEnv } from '../../core/runtime-env.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import type { PcapReader } from '../../core/pcap/pcap-reader.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The folder holding package.json above this file: test/pcap under vitest, dist/fuzz/test/pcap once compiled for `npm run fuzz`. */
function projectRoot(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return path.resolve(from, '../..');
  }
}
export const PROJECT_ROOT = projectRoot(here);
export const PCAP_DIR = path.resolve(PROJECT_ROOT, '../shared/data/pcaps');

/** Every capture under shared/data/pcaps (pcap, pcapng, gzipped), sorted. */
export function sharedCaptures(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(pcap|pcapng)(\.gz)?$/.test(e.name)) out.push(p);
    }
  };
  walk(PCAP_DIR);
  return out.sort();
}

let tsharkState: boolean | undefined;

/**
 * Whether tshark can be run. Under CI its absence is a failure (the caller's test throws);
 * elsewhere the caller skips and this warns once, loudly.
 */
export function haveTshark(): boolean {
  if (tsharkState === undefined) {
    const r = spawnSync('tshark', ['-v'], { stdio: 'ignore' });
    tsharkState = r.error === undefined && r.status === 0;
    if (!tsharkState && process.env.CI !== 'true') console.warn('WARNING: tshark not found: pcap tests that compare with tshark are SKIPPED (they fail under CI=true)');
  }
  return tsharkState;
}

/** Throw under CI when tshark is missing; return false (skip) elsewhere. */
export function tsharkOrFail(): boolean {
  if (haveTshark()) return true;
  if (process.env.CI === 'true') throw new Error('tshark is required under CI for the pcap tests (apt-get install tshark)');
  return false;
}

export interface Frame {
  len: number;
  capLen: number;
  /** frame.time_epoch as tshark prints it: seconds.nanoseconds (9 digits). */
  epoch: string;
  md5: string;
  /** Wireshark's encapsulation number (frame.encap_type), not a LINKTYPE. */
  encap: number;
}

/** tshark's view of a capture: one Frame per packet it reads. */
export function tsharkFrames(file: string): Promise<Frame[]> {
  const args = ['-r', file, '-n', '--disable-protocol', 'ALL', '--enable-protocol', 'frame', '-o', 'frame.generate_md5_hash:TRUE', '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch', '-e', 'frame.md5_hash', '-e', 'frame.encap_type'];
  return new Promise((resolve, reject) => {
    execFile('tshark', args, { maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      // tshark exits 2 after reading a cut-short file; its packets up to the cut are still valid.
      if (err && stdout.length === 0 && !/cut short|appears to be damaged/.test(stderr)) {
        reject(new Error(`tshark -r ${file}: ${stderr || err.message}`));
        return;
      }
      const frames = stdout
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => {
          const [len, capLen, epoch, md5, encap] = l.split('\t');
          return { len: Number(len), capLen: Number(capLen), epoch, md5, encap: Number(encap) };
        });
      resolve(frames);
    });
  });
}

/** Run `fn` over `items` with at most `width` at once (two cores: two tshark processes). */
export async function mapLimited<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Seconds and nanoseconds the way tshark prints frame.time_epoch. */
export function epochString(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

export interface ReadPacket {
  id: number;
  linkType: number;
  bytes: Uint8Array;
  wireLength: number;
  tsSec: number;
  tsNsec: number;
}

/** Flatten batches into per-packet records (copies of the bytes), checking batch invariants. */
export function flatten(batches: readonly PacketBatch[]): ReadPacket[] {
  const out: ReadPacket[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      out.push({ id: b.id[i], linkType: b.linkType, bytes: b.bytes(i).slice(), wireLength: b.wireLength[i], tsSec: b.tsSec[i], tsNsec: b.tsNsec[i] });
    }
  }
  return out;
}

/** Every batch of a reader, in order. */
export function readBatches(reader: PcapReader, batchSize = 256): PacketBatch[] {
  const out: PacketBatch[] = [];
  let seq = 0;
  for (let b = reader.nextBatch(seq, batchSize); b !== null; b = reader.nextBatch(++seq, batchSize)) out.push(b);
  return out;
}

export interface RecordingEnv extends RuntimeEnv {
  infos: string[];
  warnings: string[];
}

export function testEnv(baseDir: string): RecordingEnv {
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    baseDir,
    infos,
    warnings,
    log: { info: (m) => infos.push(m), warn: (m) => warnings.push(m) },
    strictBackends: false,
    backend: (name) => Promise.reject(new Error(`no backend ${name} in pcap tests`)),
  };
}

/** Config arguments as the config language would hand them (`raw` as written). */
export function configArgs(...raws: string[]): ConfigArgs {
  const loc = { file: 'test.click', line: 1, column: 1 };
  return { loc, list: raws.map((raw, i) => ({ raw, value: raw, loc: { ...loc, column: 10 + i * 10 } })) };
}

/** A fresh temporary directory, removed by the caller's afterAll. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-pcap-'));
}
