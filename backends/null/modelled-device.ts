/**
 * The host side of the null backend's modelled device: a worker thread
 * (modelled-device-worker.ts) that computes while the calling thread goes on, as a GPU does.
 * Requests go over one ordered channel and each resolves with the worker's answer; the worker
 * keeps the process alive only while a request is outstanding, so a backend nobody disposed
 * leaves no handle behind. A worker that dies fails every outstanding and later request with
 * BackendFailure (a lost device: the offload runner falls back to cpu, visibly).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackendFailure } from '../../core/backend.js';
import type { DeviceReply, DeviceRequest } from './modelled-device-protocol.js';

type Ok = Extract<DeviceReply, { ok: true }>;
/** A request as the caller gives it: the id is the device's to assign. */
type Request = DeviceRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const WORKER_FILE = 'modelled-device-worker.js';

/**
 * The compiled worker script: next to this module when running from dist/, else (the tests run
 * the TypeScript sources) the build's copy under dist/backends/null/.
 */
function workerScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, WORKER_FILE);
  if (existsSync(beside)) return beside;
  const built = path.resolve(here, '..', '..', 'dist', 'backends', 'null', WORKER_FILE);
  if (existsSync(built)) return built;
  throw new Error(`null modelled device: worker script ${WORKER_FILE} not found beside ${here} nor at ${built} (run npm run build)`);
}

/** A run's columns in memory the worker shares: lent to one run at a time. */
export interface RunSlot {
  readonly id: number;
  words: Int32Array;
  /** False until the worker has been sent this buffer (the next run on the slot carries it). */
  shared: boolean;
}

export class ModelledDevice {
  private readonly freeSlots: RunSlot[] = [];
  private slotCount = 0;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Ok) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private lost: string | null = null;

  constructor() {
    // The device is its own program: the caller's Node flags (--input-type, --cpu-prof...) are not its.
    this.worker = new Worker(workerScript(), { execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (reply: DeviceReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.settled(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(`null modelled device: ${reply.message}`));
    });
    this.worker.on('error', (e) => this.fail(`worker failed: ${e.message}`));
    this.worker.on('exit', (code) => this.fail(`worker exited (code ${code})`));
  }

  /** Send a request (with the buffers to transfer rather than copy); resolves with the answer. */
  request(req: Request, transfer: ArrayBuffer[] = []): Promise<Ok> {
    if (this.lost !== null) return Promise.reject(new BackendFailure('null', `modelled device lost: ${this.lost}`));
    const id = this.nextId++;
    return new Promise<Ok>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id } as DeviceRequest, transfer);
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(why: string): void {
    this.lost ??= why;
    for (const [id, p] of [...this.pending]) {
      this.settled(id);
      p.reject(new BackendFailure('null', `modelled device lost: ${this.lost}`));
    }
  }

  /**
   * A slot of at least `words` words for one run (return it with releaseSlot). A free slot too
   * small for the run grows (a new buffer under the same id, sent with its next run), so there
   * are never more slots than runs in flight at once.
   */
  acquireSlot(words: number): RunSlot {
    const slot = this.freeSlots.pop() ?? { id: this.slotCount++, words: new Int32Array(0), shared: false };
    if (slot.words.length < words) {
      slot.words = new Int32Array(new SharedArrayBuffer(4 * Math.max(1024, 2 ** Math.ceil(Math.log2(words)))));
      slot.shared = false;
    }
    return slot;
  }

  releaseSlot(slot: RunSlot): void {
    this.freeSlots.push(slot);
  }

  /** Stop the worker; outstanding requests fail (BackendFailure, 'disposed'). */
  async terminate(): Promise<void> {
    this.fail('disposed');
    await this.worker.terminate();
  }
}
