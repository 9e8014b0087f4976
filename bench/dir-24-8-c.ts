/**
 * The native baseline of the multi-FIB CPU lookup: bench/dir-24-8.c (DIR-24-8 with DPDK
 * rte_lpm's layout and lookup), built here with gcc -O3 -march=native into .cache/ (once per
 * source version) and run on the same routes and addresses as the TypeScript rows. Its answers
 * come back so the bench can check that both agree.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './paths.js';

const FLAGS = ['-O3', '-march=native'];

export interface CDir24Routes {
  count: number;
  prefix: Int32Array;
  len: Uint8Array;
  nh: Int32Array;
}

export interface CDir24Result {
  buildMs: number;
  bytes: number;
  /** Milliseconds of each timed pass over all the addresses. */
  runsMs: number[];
  /** Next hop per address (-1: none), from the last pass. */
  answers: Int32Array;
}

/** The compiled program's path (built when this source version has no binary yet); throws naming gcc's error. */
export function buildCDir24(): { bin: string; compiler: string } {
  const src = path.join(projectRoot(), 'bench', 'dir-24-8.c');
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).update(FLAGS.join(' ')).digest('hex').slice(0, 12);
  const dir = path.join(projectRoot(), '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, `dir-24-8-${hash}`);
  const version = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`bench: the C DIR-24-8 baseline needs gcc on PATH (${version.error?.message ?? version.stderr})`);
  if (!existsSync(bin)) {
    const r = spawnSync('gcc', [...FLAGS, '-o', bin, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench: gcc ${FLAGS.join(' ')} ${src} failed: ${r.stderr}`);
  }
  return { bin, compiler: `gcc ${FLAGS.join(' ')} (${version.stdout.split('\n')[0]})` };
}

/** Write the route columns once per bench run (the file the C program reads). */
export function writeCDir24Routes(routes: CDir24Routes, file: string): void {
  const w = new Uint32Array(1 + 3 * routes.count);
  w[0] = routes.count;
  for (let i = 0; i < routes.count; i++) {
    w[1 + i] = routes.prefix[i] >>> 0;
    w[1 + routes.count + i] = routes.len[i];
    w[1 + 2 * routes.count + i] = routes.nh[i];
  }
  writeFileSync(file, w);
}

/** One run of the program: build the table from `routesFile`, then `reps` timed passes over `addrs` in batches of `batch`. */
export function runCDir24(bin: string, routesFile: string, addrs: Int32Array, batch: number, reps: number): CDir24Result {
  const dir = path.dirname(routesFile);
  const addrFile = path.join(dir, 'dir-24-8-addrs.bin');
  const outFile = path.join(dir, 'dir-24-8-answers.bin');
  const a = new Uint32Array(1 + addrs.length);
  a[0] = addrs.length;
  a.set(new Uint32Array(addrs.buffer, addrs.byteOffset, addrs.length), 1);
  writeFileSync(addrFile, a);
  const r = spawnSync(bin, [routesFile, addrFile, outFile, String(batch), String(reps)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: ${bin} failed (${r.status}): ${r.stderr}`);
  const parsed = JSON.parse(r.stdout.trim()) as { buildMs: number; bytes: number; runsMs: number[] };
  const bytes = readFileSync(outFile);
  const answers = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { ...parsed, answers };
}
