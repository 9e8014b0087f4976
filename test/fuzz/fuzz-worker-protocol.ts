/** What the fuzz runner and its worker share: the job, the progress slots, the messages. */
export interface WorkerJob {
  file: string;
  seed: number;
  firstBatch: number;
  batchSize: number;
  /** Stop once this many inputs have been run in all (counted in `progress[DONE]`). */
  totalRuns: number;
  /** Int32Array over a SharedArrayBuffer: see the slot constants. */
  progress: SharedArrayBuffer;
}

export const DONE = 0;
export const BATCH = 1;
export const INDEX = 2;

export interface CrashMessage {
  kind: 'crash';
  batch: number;
  index: number;
  input: string;
  error: string;
}

