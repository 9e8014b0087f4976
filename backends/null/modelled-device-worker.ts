/**
 * The null backend's modelled device (option `device: 'worker'`): a worker thread that holds
 * the structure images and runs the kernels' CPU references on them, one request at a time,
 * and holds each run's answers back until the modelled device would have finished it.
 *
 * Pacing: the device is one serial queue. A run starts on the model's clock when the worker
 * takes it up or when the model finished the previous run, whichever is later, and ends
 * `modelledNs` after that; the worker answers at that end or when its own compute is done,
 * whichever is later (then `lateNs` says the worker, not the model, was the limit).
 */
import { parentPort } from 'node:worker_threads';
import { HostImage } from '../../core/structures/host-image.js';
import { kernelReference } from './kernel-references.js';
import type { DeviceReply, DeviceRequest } from './modelled-device-protocol.js';

const port = parentPort;
if (port === null) throw new Error('null modelled device: must run as a worker thread');

const images = new Map<number, HostImage>();
/** The run slots' shared buffers, by slot id (modelled-device.ts hands them out). */
const slots = new Map<number, SharedArrayBuffer>();
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

function handle(req: DeviceRequest): DeviceReply {
  switch (req.op) {
    case 'load':
      // The image arrives as a transferred copy: held as it is, no second copy.
      images.set(req.handle, new HostImage(req.image));
      return { id: req.id, ok: true };
    case 'delta':
      held(req.handle).apply(req.delta);
      return { id: req.id, ok: true };
    case 'read':
      return { id: req.id, ok: true, image: new Uint32Array(held(req.handle).words) };
    case 'release':
      images.delete(req.handle);
      return { id: req.id, ok: true };
    case 'run': {
      const taken = performance.now();
      if (req.buffer !== undefined) slots.set(req.slot, req.buffer);
      const buffer = slots.get(req.slot);
      if (buffer === undefined) throw new Error(`null modelled device: run slot #${req.slot} was never sent`);
      const column = (k: number): Int32Array => new Int32Array(buffer, 4 * k * req.count, req.count);
      const inputs: Record<string, Int32Array> = {};
      const outputs: Record<string, Int32Array> = {};
      req.inputs.forEach((name, k) => (inputs[name] = column(k)));
      req.outputs.forEach((name, k) => (outputs[name] = column(req.inputs.length + k)));
      kernelReference(req.kernel)(
        req.handles.map((h) => held(h).words),
        { count: req.count, inputs, outputs },
      );
      const computed = performance.now();
      const modelEnd = Math.max(taken, modelFreeAt) + req.modelledNs / 1e6;
      waitUntil(modelEnd);
      modelFreeAt = Math.max(modelEnd, computed);
      return {
        id: req.id,
        ok: true,
        figures: { workerNs: (computed - taken) * 1e6, pacedNs: Math.max(0, modelEnd - computed) * 1e6, lateNs: Math.max(0, computed - modelEnd) * 1e6 },
      };
    }
  }
}

port.on('message', (req: DeviceRequest) => {
  let reply: DeviceReply;
  try {
    reply = handle(req);
  } catch (e) {
    reply = { id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply, reply.ok && reply.image !== undefined ? [reply.image.buffer as ArrayBuffer] : []);
});
