/**
 * The null backend's modelled device (option `device: 'worker'`): a worker thread that holds
 * the structure images and runs the kernels on them, one request at a time in sequence order
 * (modelled-device-protocol.ts), and holds each run's answers back until the modelled device
 * would have finished it.
 *
 * Between requests it sleeps in Atomics.wait on the control block's doorbell, not in its event
 * loop: a run costs the host no message, and the messages (load, delta, ...) are taken off the
 * port with receiveMessageOnPort when their sequence number comes up.
 *
 * Pacing: the device is one serial queue. A run starts on the model's clock when the worker
 * takes it up or when the model finished the previous run, whichever is later, and ends
 * `modelledNs` after that; the worker answers at that end or when its own compute is done,
 * whichever is later (then `lateNs` says the worker, not the model, was the limit).
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { HostImage } from '../../core/structures/host-image.js';
import { kernelReference, type KernelReference } from './kernel-references.js';
import { CONTROL, RUN_FAILED, RUN_OK, SLOT, type DeviceMessage, type DeviceReply, type DeviceWorkerData } from './modelled-device-protocol.js';

const data = workerData as DeviceWorkerData | null;
if (data === null || !(data.control instanceof SharedArrayBuffer)) throw new Error('null modelled device: must run as a worker thread with its control block');
const control = new Int32Array(data.control);
const port = data.port as unknown as MessagePort;
const diesAfterRuns = data.diesAfterRuns;
let runs = 0;

const images = new Map<number, HostImage>();
/** A run slot: its buffer, seen as header words, header float64s and columns. */
interface Slot {
  i32: Int32Array;
  f64: Float64Array;
}
/** The run slots, by slot id (modelled-device.ts hands them out). */
const slots = new Map<number, Slot>();
/** Run signatures, by id: the kernel and its column names in slot order. */
const signatures = new Map<number, { reference: KernelReference; inputs: string[]; outputs: string[] }>();
/** When the model's device finishes its last run (performance.now() of this thread, ms). */
let modelFreeAt = 0;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function held(handle: number): HostImage {
  const img = images.get(handle);
  if (img === undefined) throw new Error(`null modelled device: structure #${handle} is not held`);
  return img;
}

/** Hold until `until` (ms): sleep for the long part, spin the last millisecond (a timer is not that precise). */
function waitUntil(until: number): void {
  for (;;) {
    const left = until - performance.now();
    if (left <= 0) return;
    if (left > 2) Atomics.wait(sleeper, 0, 0, left - 1);
  }
}

function reply(r: DeviceReply): void {
  port.postMessage(r, r.ok && r.image !== undefined ? [r.image.buffer as ArrayBuffer] : []);
}

function serveMessage(m: DeviceMessage): void {
  try {
    switch (m.op) {
      case 'load':
        images.set(m.handle, new HostImage(m.image));
        return reply({ seq: m.seq, ok: true });
      case 'delta':
        held(m.handle).apply(m.delta);
        return reply({ seq: m.seq, ok: true });
      case 'read':
        return reply({ seq: m.seq, ok: true, image: new Uint32Array(held(m.handle).words) });
      case 'release':
        images.delete(m.handle);
        return reply({ seq: m.seq, ok: true });
      case 'slot':
        slots.set(m.slot, { i32: new Int32Array(m.buffer), f64: new Float64Array(m.buffer, 0, SLOT.HEADER_BYTES / 8) });
        return reply({ seq: m.seq, ok: true });
      case 'signature':
        signatures.set(m.signature, { reference: kernelReference(m.kernel), inputs: m.inputs, outputs: m.outputs });
        return reply({ seq: m.seq, ok: true });
    }
  } catch (e) {
    reply({ seq: m.seq, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
}

function serveRun(seq: number, slot: Slot): void {
  // The injected lost device: the thread ends here, with this run and those behind it unanswered.
  if (diesAfterRuns !== null && ++runs > diesAfterRuns) process.exit(3);
  const taken = performance.now();
  const { i32, f64 } = slot;
  try {
    const sig = signatures.get(i32[SLOT.SIGNATURE]);
    if (sig === undefined) throw new Error(`null modelled device: run signature #${i32[SLOT.SIGNATURE]} was never sent`);
    const count = i32[SLOT.COUNT];
    const column = (k: number): Int32Array => new Int32Array(i32.buffer, SLOT.HEADER_BYTES + 4 * k * count, count);
    const inputs: Record<string, Int32Array> = {};
    const outputs: Record<string, Int32Array> = {};
    sig.inputs.forEach((name, k) => (inputs[name] = column(k)));
    sig.outputs.forEach((name, k) => (outputs[name] = column(sig.inputs.length + k)));
    const structures: Uint32Array[] = [];
    for (let k = 0; k < i32[SLOT.HANDLE_COUNT]; k++) structures.push(held(i32[SLOT.HANDLES + k]).words);
    sig.reference(structures, { count, inputs, outputs });
  } catch (e) {
    i32[SLOT.STATUS] = RUN_FAILED;
    reply({ seq, ok: false, message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const computed = performance.now();
  const modelEnd = Math.max(taken, modelFreeAt) + f64[SLOT.F64_MODELLED_NS] / 1e6;
  waitUntil(modelEnd);
  modelFreeAt = Math.max(modelEnd, computed);
  f64[SLOT.F64_WORKER_NS] = (computed - taken) * 1e6;
  f64[SLOT.F64_PACED_NS] = Math.max(0, modelEnd - computed) * 1e6;
  f64[SLOT.F64_LATE_NS] = Math.max(0, computed - modelEnd) * 1e6;
  i32[SLOT.STATUS] = RUN_OK;
}

/** Request `seq`: a run written into a slot, else the next message on the port (the host posts before it rings). */
function serve(seq: number): void {
  for (const slot of slots.values()) {
    if (slot.i32[SLOT.SEQ] === seq) return serveRun(seq, slot);
  }
  const got = receiveMessageOnPort(port) as { message: DeviceMessage } | undefined;
  // Thrown out of the worker: it ends, and the host fails every outstanding request as a lost device.
  if (got === undefined || got.message.seq !== seq) {
    throw new Error(`null modelled device: request #${seq} was rung but ${got === undefined ? 'neither a run nor a message carries it' : `the next message is #${got.message.seq}`}`);
  }
  serveMessage(got.message);
}

/**
 * An idle worker looks at the doorbell every POLL_MS for POLL_FOR_MS before it sleeps until
 * notified: a host that rings while it polls stores SUBMITTED and makes no wake-up call, as a
 * GPU's command processor reads its ring while the host only writes a doorbell register. On the
 * project's 2-core virtual machine the notify cost the host thread ~10 µs a run, an eighth of
 * its work in the router at batch 4096; the polls cost the worker instead.
 */
const POLL_MS = 0.05;
const POLL_FOR_MS = 5;

let taken = 0;
for (;;) {
  if (Atomics.load(control, CONTROL.SUBMITTED) === taken) {
    const until = performance.now() + POLL_FOR_MS;
    while (Atomics.load(control, CONTROL.SUBMITTED) === taken && performance.now() < until) Atomics.wait(control, CONTROL.SUBMITTED, taken, POLL_MS);
  }
  if (Atomics.load(control, CONTROL.SUBMITTED) === taken) {
    // Said before the wait's own check: a host that raised SUBMITTED and then read 0 here was
    // seen by that check, one that read 1 notifies (sequentially consistent atomics, both sides).
    Atomics.store(control, CONTROL.SLEEPING, 1);
    Atomics.wait(control, CONTROL.SUBMITTED, taken);
    Atomics.store(control, CONTROL.SLEEPING, 0);
  }
  const submitted = Atomics.load(control, CONTROL.SUBMITTED);
  while (taken < submitted) {
    taken++;
    serve(taken);
    Atomics.store(control, CONTROL.DONE, taken);
    // Only a host that said it waits is woken (the flag set before its own check of DONE).
    if (Atomics.compareExchange(control, CONTROL.HOST_WAITING, 1, 0) === 1) Atomics.notify(control, CONTROL.DONE);
  }
}
