/**
 * How the null backend talks to its modelled device's worker thread. One ordered queue: every
 * request gets the next sequence number, and the worker serves them strictly in that order, as
 * a device queue does, so a delta sent after a run applies after it and before every later run.
 *
 * Two ways in, one order:
 *  - runs (the hot path) are written into their run slot's header, in shared memory, and rung
 *    in with the control block's doorbell: `SUBMITTED` is raised to the run's sequence number
 *    and the worker, asleep in Atomics.wait on it, is woken with Atomics.notify. No message, no
 *    structured clone, no event-loop turn in the worker.
 *  - the rare requests (load, delta, read, release, and the slot buffers and run signatures a
 *    run refers to) go as messages on a MessageChannel, numbered in the same sequence, and ring
 *    the same doorbell; the worker takes them off its port with receiveMessageOnPort when their
 *    number comes up.
 * The worker answers by raising `DONE` to the sequence number it finished (requests finish in
 * order), and notifies when the host said it waits (`HOST_WAITING`); a busy host polls `DONE`. A run's figures are in its
 * slot's header; a message request's answer, and a failed run's error, come back as a message
 * (posted before `DONE` is raised, so it is there when the host looks).
 */
import type { ImageDelta } from '../../core/structures/image.js';

/** Control block (an Int32Array over a SharedArrayBuffer) word indices. */
export const CONTROL = {
  /** The highest sequence number the host has sent (the doorbell the worker sleeps on). */
  SUBMITTED: 0,
  /** The highest sequence number the worker has finished. */
  DONE: 1,
  /**
   * 1 while the worker sleeps (or is about to) on SUBMITTED: the host notifies only then, and
   * sets it back to 0 as it does, so a run rung while the worker is busy or already being woken
   * costs the host no wake-up call. The worker sets 1 before each Atomics.wait, whose own check
   * of SUBMITTED then sees any request rung without a notify.
   */
  SLEEPING: 2,
  /**
   * 1 while the host waits for DONE with Atomics.waitAsync: the worker notifies only then (and
   * sets it back to 0 as it does). A host busy with other batches polls DONE instead (on each
   * run it submits, and on its next event-loop turn), because a notify answered through the
   * event loop cost its thread ~20 µs per round trip on a 2-core virtual machine, as much as the
   * 4096 lookups it hands over.
   */
  HOST_WAITING: 3,
  WORDS: 4,
} as const;

/**
 * A run slot's header: the run's descriptor, written by the host before it rings, and its
 * figures, written by the worker before it answers. The columns follow the header.
 */
export const SLOT = {
  /** Int32 words. */
  SEQ: 0,
  /** 0: answered with figures; 1: failed (the error comes as a message). */
  STATUS: 1,
  SIGNATURE: 2,
  COUNT: 3,
  HANDLE_COUNT: 4,
  HANDLES: 5,
  MAX_HANDLES: 8,
  /** Float64 words (index into a Float64Array over the same buffer). */
  F64_MODELLED_NS: 8,
  F64_WORKER_NS: 9,
  F64_PACED_NS: 10,
  F64_LATE_NS: 11,
  /** Where the columns start. */
  HEADER_BYTES: 128,
} as const;

export const RUN_OK = 0;
export const RUN_FAILED = 1;

/** What the worker takes from workerData. */
export interface DeviceWorkerData {
  control: SharedArrayBuffer;
  port: MessagePort;
  /** Injected loss: the worker thread ends when its run after this many comes up (null: never). */
  diesAfterRuns: number | null;
}

export type DeviceMessage =
  | { op: 'load'; seq: number; handle: number; image: Uint32Array }
  | { op: 'delta'; seq: number; handle: number; delta: ImageDelta }
  | { op: 'read'; seq: number; handle: number }
  | { op: 'release'; seq: number; handle: number }
  /** A run slot's buffer (new, or grown): runs name the slot, the worker holds the buffer. */
  | { op: 'slot'; seq: number; slot: number; buffer: SharedArrayBuffer }
  /** What a signature id in a run's header means: the kernel, and its columns in slot order. */
  | { op: 'signature'; seq: number; signature: number; kernel: string; inputs: string[]; outputs: string[] };

/** What one run cost on the modelled device: the model's time, the worker's real compute, the pacing. */
export interface DeviceRunFigures {
  /** The worker's own time computing the answers, ns. */
  workerNs: number;
  /** How long the worker held the answers back so the run ended no earlier than the model says, ns. */
  pacedNs: number;
  /** How far the run ended after the model's end because the worker was slower, ns (0 when paced). */
  lateNs: number;
}

/** The answer to a message request, or a failed run's error. */
export type DeviceReply = { seq: number; ok: true; image?: Uint32Array } | { seq: number; ok: false; message: string };
