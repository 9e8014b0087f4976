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

/**
 * The kernel adds a running thread's time to the figure schedstat shows only when it accounts the
 * thread: at a scheduler tick (4 ms at HZ=250) or when the thread leaves the CPU. Read while
 * running, the figure lags by up to a tick: 1.5 ms of work read as 0 to 4.8 ms, and a host
 * calibration's few-millisecond runs came out as 0 or 4 ms (most elements fitted at 0, FromDump
 * at 380-560 ns a packet against 43 measured by a long run). A 0.1 ms sleep first makes the
 * kernel account the thread: the same 1.5 ms then reads 1.45-1.7 ms.
 */
const settleCell = new Int32Array(new SharedArrayBuffer(4));
const SETTLE_MS = 0.1;

/** This thread's CPU and run-queue time so far, or null where the kernel does not report it. */
export function readThreadCpu(): ThreadCpuReading | null {
  let text: string;
  try {
    Atomics.wait(settleCell, 0, 0, SETTLE_MS);
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
