/**
 * Freed memory kept for reuse, for processes that time short runs one after another
 * (`hetbox calibrate`, `npm run bench`).
 *
 * Node allocates an ArrayBuffer's bytes with the C library's malloc. glibc serves a large block
 * (above its dynamic mmap threshold, 128 KiB at first) with a fresh mmap and gives it back to the
 * kernel when the garbage collector frees it, and trims the top of its heap past 128 KiB free.
 * Each run of a router allocates its capture windows, a REPEAT pass's copy and its batch
 * columns anew, so every run touches fresh pages, and a first touch is a page fault: 13-16 µs
 * for 4 KiB on this project's 2-core virtual machine (measured by touching 64 MiB, 2026-12-01),
 * where bare metal takes well under 1 µs. A 92,620-packet calibration run of
 * `FromDump -> Strip(14) -> Discard` took 2,728 such faults in most runs and none in a few:
 * 55-963 ns of thread CPU a packet, against 57-74 once freed blocks stayed in the heap. The host
 * calibration fitted FromDump at 488 ns a packet and the parts of the router summed to 4.8x the
 * measured whole (composition factor x 0.21); with freed memory kept, x 0.96 and 4.6 s instead
 * of 13 s.
 *
 * glibc reads its tunables from the environment at start-up only, so a process that wants them
 * starts itself again with them set (`relaunchWithMemoryReuse`). Values: blocks up to 32 MiB (the
 * largest mmap threshold glibc accepts on 64-bit) come from the heap, and the heap is trimmed
 * only past 4 GiB free. The cost is that the process keeps its peak heap until it exits, which a
 * short calibration or bench can afford; a long `hetbox run` allocates its buffers once and is
 * left as it is. Other C libraries ignore these variables; the relaunch is only done on glibc.
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';

/** The glibc malloc tunables set (names end with an underscore, as glibc spells them). */
export const MEMORY_REUSE_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(4 * 2 ** 30),
};

/** Whether this process's C library is glibc (the only one these variables mean anything to). */
export function runsOnGlibc(): boolean {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}

/** Whether `env` already sets every tunable (to any value: a user's own choice is kept). */
export function hasMemoryReuse(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(MEMORY_REUSE_ENV).every((k) => env[k] !== undefined);
}

/** `env` with the tunables it does not set added. */
export function withMemoryReuse(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(MEMORY_REUSE_ENV)) out[k] ??= v;
  return out;
}

/** A line saying how this process treats freed memory, for a calibration's or bench's output. */
export function memoryReuseNote(env: NodeJS.ProcessEnv = process.env): string {
  if (!runsOnGlibc()) return 'freed memory: left to the C library (not glibc; MALLOC_* tunables do not apply)';
  if (!hasMemoryReuse(env)) return 'freed memory: returned to the kernel (glibc defaults): short runs pay page faults for fresh pages';
  const set = Object.keys(MEMORY_REUSE_ENV).map((k) => `${k}=${env[k]}`).join(' ');
  const ours = Object.entries(MEMORY_REUSE_ENV).every(([k, v]) => env[k] === v);
  return ours ? `freed memory: kept for reuse (${set})` : `freed memory: as the environment's glibc tunables say (${set})`;
}

/**
 * On glibc, when the tunables are not set yet: run this same script again with them, stdio
 * shared, and answer its exit status (a signal's death as 128 + its number). Null when the
 * process is to go on itself (set already, or not glibc).
 */
export function relaunchWithMemoryReuse(args: readonly string[]): number | null {
  if (hasMemoryReuse(process.env) || !runsOnGlibc()) return null;
  const script = process.argv[1];
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...args], { stdio: 'inherit', env: withMemoryReuse(process.env) });
  if (r.error !== undefined) throw r.error;
  if (r.status !== null) return r.status;
  return 128 + (r.signal === null ? 0 : constants.signals[r.signal]);
}
