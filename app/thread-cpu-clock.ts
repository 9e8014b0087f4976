/**
 * The calling thread's own CPU time (Linux: `/proc/thread-self/schedstat`, nanoseconds on a CPU),
 * for calibrations and benches on a shared machine: wall time there is the thread's work plus
 * however long it waited for a core (`runQueueNs`), which on 2 cores at load 10 is most of it and
 * changes from run to run by 2-10x (issue 11); the time on a CPU moves far less (caches and
 * frequency still vary). Where the file is not there (not Linux, old kernels) `available` is false
 * and callers time the wall instead, and say so.
 */
import { readFileSync } from 'node:fs';

export interface ThreadCpuReading {
  /** Nanoseconds this thread has run on a CPU. */
  onCpuNs: number;
  /** Nanoseconds it has been runnable but waiting for a CPU. */
  runQueueNs: number;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/** This thread's CPU and run-queue time so far, or null where the kernel does not report it. */
export function readThreadCpu(): ThreadCpuReading | null {
  let text: string;
  try {
    text = readFileSync(SCHEDSTAT, 'utf8');
  } catch {
    return null;
  }
  const [on, wait] = text.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(on) || !Number.isFinite(wait)) return null;
  return { onCpuNs: on, runQueueNs: wait };
}

/** Whether this thread's CPU time can be read here (checked once). */
export const threadCpuAvailable: boolean = readThreadCpu() !== null;

/** CPU and run-queue nanoseconds between `before` and now; null where not available. */
export function threadCpuSince(before: ThreadCpuReading | null): ThreadCpuReading | null {
  const now = readThreadCpu();
  if (before === null || now === null) return null;
  return { onCpuNs: now.onCpuNs - before.onCpuNs, runQueueNs: now.runQueueNs - before.runQueueNs };
}
