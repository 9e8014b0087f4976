/**
 * The host side of the null backend's modelled device: a worker thread
 * (modelled-device-worker.ts) that computes while the calling thread goes on, as a GPU does.
 * Every request takes the next number in one sequence and the worker serves them in that order
 * (modelled-device-protocol.ts): a run is written into its slot's header and rung in through a
 * shared-memory doorbell, the rare requests go as messages; completions are awaited with
 * Atomics.waitAsync, one wait for however many finished meanwhile. The worker keeps the
 * process alive only while a request is outstanding, so a backend nobody disposed leaves no
 * handle behind. A worker that dies fails every outstanding and later request with
 * BackendFailure (a lost device: the offload runner falls back to cpu, visibly).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { BackendFailure } from '../../core/backend.js';
import { CONTROL, RUN_OK, SLOT, type DeviceMessage, type DeviceReply, type DeviceRunFigures, type DeviceWorkerData } from './modelled-device-protocol.js';

type Ok = Extract<DeviceReply, { ok: true }>;
/** A message request as the caller gives it: the sequence number is the device's to assign. */
type Request = DeviceMessage extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;

/** Atomics.waitAsync (ES2024; Node 20 has it, the ES2022 lib this project compiles against does not declare it). */
type WaitAsync = (view: Int32Array, index: number, value: number) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

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

/** A run's header and columns in memory the worker shares: lent to one run at a time. */
export interface RunSlot {
  readonly id: number;
  /** The run's columns (after the header): inputs, then outputs, `count` words each. */
  words: Int32Array;
  /** The header as words and as float64s (SLOT in modelled-device-protocol.ts). */
  header: Int32Array;
  figures: Float64Array;
  /** False until the worker has been sent this buffer (sent before the slot's next run). */
  shared: boolean;
}

/** A request sent and not yet answered: settled, in sequence order, once `DONE` reaches it. */
interface Outstanding {
  seq: number;
  /** The run's slot (its figures are in the header); null for a message request. */
  slot: RunSlot | null;
  resolve: (r: Ok & { figures?: DeviceRunFigures }) => void;
  reject: (e: Error) => void;
}

export class ModelledDevice {
  private readonly freeSlots: RunSlot[] = [];
  private slotCount = 0;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL.WORDS));
  /** Requests sent and not answered, in sequence order (the worker finishes them in that order). */
  private readonly outstanding: Outstanding[] = [];
  private readonly signatures = new Map<string, number>();
  private submitted = 0;
  private seenDone = 0;
  /** A look at DONE is scheduled (setImmediate). */
  private watching = false;
  /** An Atomics.waitAsync on DONE is pending. */
  private waiting = false;
  private lost: string | null = null;

  /** `diesAfterRuns`: the worker thread ends when its run after that many comes up (an injected lost device). */
  constructor(diesAfterRuns?: number) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    const workerData: DeviceWorkerData = { control: this.control.buffer as SharedArrayBuffer, port: channel.port2 as unknown as DeviceWorkerData['port'], diesAfterRuns: diesAfterRuns ?? null };
    // The device is its own program: the caller's Node flags (--input-type, --cpu-prof...) are not its.
    this.worker = new Worker(workerScript(), { execArgv: [], workerData, transferList: [channel.port2] });
    this.worker.unref();
    this.worker.on('error', (e) => this.fail(`worker failed: ${e.message}`));
    this.worker.on('exit', (code) => this.fail(`worker exited (code ${code})`));
  }

  /** Send a message request (with the buffers to transfer rather than copy); resolves with the answer. */
  request(req: Request, transfer: ArrayBuffer[] = []): Promise<Ok> {
    if (this.lost !== null) return Promise.reject(this.lostError());
    return new Promise<Ok>((resolve, reject) => {
      const seq = this.post(req, transfer);
      this.ring(seq, { seq, slot: null, resolve, reject });
    });
  }

  /**
   * Run `kernel` on the columns already in `slot` (inputs then outputs, `count` words each, in
   * the order named); resolves with the run's figures once the outputs are in the slot.
   */
  run(slot: RunSlot, kernel: string, inputs: string[], outputs: string[], handles: readonly number[], count: number, modelledNs: number): Promise<DeviceRunFigures> {
    if (this.lost !== null) return Promise.reject(this.lostError());
    if (handles.length > SLOT.MAX_HANDLES) return Promise.reject(new Error(`null modelled device: a run reads at most ${SLOT.MAX_HANDLES} structures, ${kernel} names ${handles.length}`));
    // The slot's buffer and the run's signature go ahead of it (in the same sequence) the first time only.
    if (!slot.shared) {
      this.request({ op: 'slot', slot: slot.id, buffer: slot.header.buffer as SharedArrayBuffer }).catch(() => undefined);
      slot.shared = true;
    }
    const key = `${kernel}|${inputs.join(',')}|${outputs.join(',')}`;
    let signature = this.signatures.get(key);
    if (signature === undefined) {
      signature = this.signatures.size;
      this.signatures.set(key, signature);
      // A refused signature (an unknown kernel) fails this run: the worker answers it with the error.
      this.request({ op: 'signature', signature, kernel, inputs, outputs }).catch(() => undefined);
    }
    this.poll();
    const h = slot.header;
    const seq = ++this.submitted;
    h[SLOT.SEQ] = seq;
    h[SLOT.SIGNATURE] = signature;
    h[SLOT.COUNT] = count;
    h[SLOT.HANDLE_COUNT] = handles.length;
    for (let k = 0; k < handles.length; k++) h[SLOT.HANDLES + k] = handles[k];
    slot.figures[SLOT.F64_MODELLED_NS] = modelledNs;
    return new Promise<DeviceRunFigures>((resolve, reject) => {
      this.ring(seq, { seq, slot, resolve: (r) => resolve(r.figures!), reject });
    });
  }

  private post(req: Request, transfer: ArrayBuffer[]): number {
    const seq = ++this.submitted;
    this.port.postMessage({ ...req, seq } as DeviceMessage, transfer);
    return seq;
  }

  /** Request `seq` is written (header or port): ring the doorbell and watch for its answer. */
  private ring(seq: number, entry: Outstanding): void {
    if (this.outstanding.length === 0) this.worker.ref();
    this.outstanding.push(entry);
    Atomics.store(this.control, CONTROL.SUBMITTED, seq);
    // Taken back to 0 by the one who wakes it: requests rung before the worker is up cost no second wake.
    if (Atomics.compareExchange(this.control, CONTROL.SLEEPING, 1, 0) === 1) Atomics.notify(this.control, CONTROL.SUBMITTED);
    this.watch();
  }

  /**
   * While anything is outstanding, one look at DONE on the event loop's next turn (setImmediate):
   * a host busy with other batches gets there with the answer already in, and the runs it submits
   * meanwhile poll DONE too (`run`), so a busy host pays no cross-thread wake-up. Only a look that
   * finds requests still out waits (`waitForDone`).
   */
  private watch(): void {
    if (this.watching || this.outstanding.length === 0 || this.lost !== null) return;
    this.watching = true;
    setImmediate(this.look);
  }

  private readonly look = (): void => {
    this.watching = false;
    this.collect();
    if (this.outstanding.length > 0 && this.lost === null) this.waitForDone();
  };

  /** Wait for DONE to move past what was seen: say so (HOST_WAITING) first, so the worker notifies. */
  private waitForDone(): void {
    if (this.waiting) return;
    this.waiting = true;
    Atomics.store(this.control, CONTROL.HOST_WAITING, 1);
    // Checked after the flag: an answer raised before it was set is seen here, one after it notifies.
    const w = waitAsync(this.control, CONTROL.DONE, this.seenDone);
    const woke = (): void => {
      this.waiting = false;
      Atomics.store(this.control, CONTROL.HOST_WAITING, 0);
      this.collect();
      this.watch();
    };
    if (w.async) void w.value.then(woke);
    else queueMicrotask(woke);
  }

  /** Settle what the worker finished since the last look (a run submitted while others are out polls). */
  private poll(): void {
    if (this.outstanding.length > 0 && Atomics.load(this.control, CONTROL.DONE) !== this.seenDone) this.collect();
  }

  /** Settle every request the worker finished, in order; then wait for the rest. */
  private collect(): void {
    if (this.lost !== null) return;
    const done = Atomics.load(this.control, CONTROL.DONE);
    this.seenDone = done;
    while (this.outstanding.length > 0 && this.outstanding[0].seq <= done) {
      const o = this.outstanding.shift()!;
      if (o.slot !== null && o.slot.header[SLOT.STATUS] === RUN_OK) {
        const f = o.slot.figures;
        o.resolve({ seq: o.seq, ok: true, figures: { workerNs: f[SLOT.F64_WORKER_NS], pacedNs: f[SLOT.F64_PACED_NS], lateNs: f[SLOT.F64_LATE_NS] } });
        continue;
      }
      // A message request's answer, or a failed run's error: posted before DONE was raised.
      const got = receiveMessageOnPort(this.port) as { message: DeviceReply } | undefined;
      if (got === undefined || got.message.seq !== o.seq) {
        o.reject(new BackendFailure('null', `modelled device: request #${o.seq} finished without ${got === undefined ? 'its answer' : `its answer (the next is #${got.message.seq})`}`));
        continue;
      }
      const r = got.message;
      if (r.ok) o.resolve(r);
      else o.reject(new Error(`null modelled device: ${r.message}`));
    }
    if (this.outstanding.length === 0) this.worker.unref();
  }

  private lostError(): BackendFailure {
    return new BackendFailure('null', `modelled device lost: ${this.lost}`);
  }

  private fail(why: string): void {
    this.lost ??= why;
    const failed = this.outstanding.splice(0);
    if (failed.length > 0) this.worker.unref();
    for (const o of failed) o.reject(this.lostError());
    // Wakes a pending waitAsync so it does not wait on a device that will never answer.
    Atomics.notify(this.control, CONTROL.DONE);
  }

  /**
   * A slot of at least `words` column words for one run (return it with releaseSlot). A free
   * slot too small for the run grows (a new buffer under the same id, sent before its next run),
   * so there are never more slots than runs in flight at once.
   */
  acquireSlot(words: number): RunSlot {
    const slot = this.freeSlots.pop() ?? this.newSlot(0);
    if (slot.words.length < words) return this.newSlot(words, slot.id);
    return slot;
  }

  private newSlot(words: number, id = this.slotCount++): RunSlot {
    const columns = Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(1, words))));
    const buffer = new SharedArrayBuffer(SLOT.HEADER_BYTES + 4 * columns);
    return { id, words: new Int32Array(buffer, SLOT.HEADER_BYTES, columns), header: new Int32Array(buffer, 0, SLOT.HEADER_BYTES / 4), figures: new Float64Array(buffer, 0, SLOT.HEADER_BYTES / 8), shared: false };
  }

  releaseSlot(slot: RunSlot): void {
    this.freeSlots.push(slot);
  }

  /** Stop the worker; outstanding requests fail (BackendFailure, 'disposed'). */
  async terminate(): Promise<void> {
    this.fail('disposed');
    this.port.close();
    await this.worker.terminate();
  }
}
