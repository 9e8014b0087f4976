/**
 * Messages between the null backend and its modelled device's worker thread. One ordered
 * channel: the worker takes requests one at a time, in the order they were sent, as a device
 * queue does, so a delta sent after a run applies after it and before every later run.
 */
import type { ImageDelta } from '../../core/structures/image.js';

export type DeviceRequest =
  | { op: 'load'; id: number; handle: number; image: Uint32Array }
  | { op: 'delta'; id: number; handle: number; delta: ImageDelta }
  | { op: 'read'; id: number; handle: number }
  | { op: 'release'; id: number; handle: number }
  | {
      op: 'run';
      id: number;
      kernel: string;
      handles: number[];
      count: number;
      /**
       * The shared buffer the run's columns are in (see `slot`): input columns, then output
       * columns, `count` words each, in the order named below. The worker reads the inputs from
       * it and writes the outputs into it: no column is copied through the message.
       */
      slot: number;
      /** The slot's buffer, sent when the worker has not seen it (new, or grown). */
      buffer?: SharedArrayBuffer;
      inputs: string[];
      outputs: string[];
      /** The modelled device time of this run (the configured costs), ns. */
      modelledNs: number;
    };

/** What one run cost on the modelled device: the model's time, the worker's real compute, the pacing. */
export interface DeviceRunFigures {
  /** The worker's own time computing the answers, ns. */
  workerNs: number;
  /** How long the worker held the answers back so the run ended no earlier than the model says, ns. */
  pacedNs: number;
  /** How far the run ended after the model's end because the worker was slower, ns (0 when paced). */
  lateNs: number;
}

export type DeviceReply =
  | { id: number; ok: true; image?: Uint32Array; figures?: DeviceRunFigures }
  | { id: number; ok: false; message: string };
