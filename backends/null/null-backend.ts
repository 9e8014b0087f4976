/**
 * The null backend (tinygrad's ops_null idea): answers come from the CPU references, so they are
 * right, but the device, its costs and its timing are whatever the options say. It exists to
 * test the planner, migration and fallback deterministically without hardware:
 *   - `costs` are reported by costs() and used to compute a simulated time per run;
 *   - `unavailable` makes detect() refuse with that reason;
 *   - `failAfterRuns` makes every run after the first N throw BackendFailure (a lost device);
 *   - `workerDiesAfterRuns` (device 'worker' only) makes the worker thread itself end when its
 *     (N+1)th run comes up, with whatever is queued behind it: a device lost mid-queue, which
 *     fails every outstanding and later request with BackendFailure;
 *   - `device` says where the answers are computed: 'inline' (default) on the calling thread, the
 *     time only reported (`simulatedNs`); 'worker' on a modelled device, a worker thread that
 *     holds the images, computes while the caller goes on, and ends each run no earlier than
 *     the configured costs say (modelled-device-worker.ts), so a measured rate reflects the
 *     modelled device time and the real host-side work of offloading to it.
 */
import { z } from 'zod';
import { BackendFailure, BackendRefusal, type Availability, type CostModel, type KernelIo, type KernelRunStats, type StructureHandle } from '../../core/backend.js';
import { BackendBase } from '../../core/backend-base.js';
import type { KernelFormResult } from '../../core/kernel.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { checkDelta, checkImage } from '../../core/structures/structure-kinds.js';
import { HostStructures } from '../cpu/host-structures.js';
import { kernelReference } from './kernel-references.js';
import { ModelledDevice } from './modelled-device.js';
import type { DeviceRunFigures } from './modelled-device-protocol.js';
import './kernels/index.js';

export const nullBackendOptions = z
  .object({
    description: z.string().default('null device (CPU answers, configured costs)'),
    costs: z
      .object({
        perItemNs: z.number().nonnegative().default(1),
        perBatchNs: z.number().nonnegative().default(10_000),
        perByteTransferNs: z.number().nonnegative().default(0.1),
        capacityBytes: z.number().positive().default(2 ** 30),
      })
      .prefault({}),
    unavailable: z.string().optional(),
    failAfterRuns: z.number().int().nonnegative().optional(),
    workerDiesAfterRuns: z.number().int().nonnegative().optional(),
    device: z.enum(['inline', 'worker']).default('inline'),
  })
  .strict()
  .refine((o) => o.workerDiesAfterRuns === undefined || o.device === 'worker', { message: "workerDiesAfterRuns needs device 'worker'", path: ['workerDiesAfterRuns'] });

export type NullBackendOptions = z.input<typeof nullBackendOptions>;

interface UnsentRun {
  io: KernelIo;
  /** Deltas called before this run are sent once this resolves. */
  after: Promise<void>;
  sent: Promise<void>;
  markSent: () => void;
}

export class NullBackend extends BackendBase {
  readonly name = 'null' as const;
  readonly structures = new HostStructures('null');
  private readonly opts: z.output<typeof nullBackendOptions>;
  private runs = 0;
  /** The worker thread computing the answers (`device: 'worker'`), started on first use. */
  private modelled: ModelledDevice | null = null;
  /** Structures held on the modelled device, by handle id (checks run here, images live there). */
  private readonly onDevice = new Map<number, StructureHandle>();
  private nextHandle = 1;
  /**
   * Runs called but not sent to the worker yet (a run is sent after runKernel's checks, a few
   * microtasks after the call): a delta waits until they are sent, and a run called after a
   * delta waits until the delta is, so the worker sees requests in the order of the calls.
   */
  private readonly unsent: UnsentRun[] = [];
  private deltasSent: Promise<void> = Promise.resolve();

  constructor(options: NullBackendOptions = {}) {
    super();
    const r = nullBackendOptions.safeParse(options);
    if (!r.success) throw new Error(`null backend options: ${z.prettifyError(r.error)}`);
    this.opts = r.data;
  }

  private device(): ModelledDevice {
    this.modelled ??= new ModelledDevice(this.opts.workerDiesAfterRuns);
    return this.modelled;
  }

  private deviceHandle(handle: StructureHandle): StructureHandle {
    const h = handle.backend === 'null' ? this.onDevice.get(handle.id) : undefined;
    if (h === undefined) throw new Error(`null: structure #${handle.id} (${handle.backend}) is not held here (released, or loaded on another backend)`);
    return h;
  }

  async detect(): Promise<Availability> {
    if (this.opts.unavailable !== undefined) return { available: false, reason: this.opts.unavailable };
    return {
      available: true,
      device: { backend: 'null', description: this.opts.description, software: true, details: { ...this.opts.costs, device: this.opts.device } },
    };
  }

  async loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle> {
    if (image.byteLength > this.opts.costs.capacityBytes) {
      throw new BackendRefusal('null', `image of ${image.byteLength} bytes exceeds the configured capacity of ${this.opts.costs.capacityBytes} bytes`);
    }
    if (this.opts.device === 'inline') return this.structures.load(kind, image, generation);
    checkImage('null', kind, image);
    const handle: StructureHandle = { backend: 'null', kind, id: this.nextHandle++, generation, words: image.length };
    const copy = new Uint32Array(image);
    await this.device().request({ op: 'load', handle: handle.id, image: copy }, [copy.buffer]);
    this.onDevice.set(handle.id, handle);
    return handle;
  }

  async applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void> {
    if (this.opts.device === 'inline') return this.structures.apply(handle, delta);
    checkDelta(this.deviceHandle(handle), delta);
    handle.generation = delta.toGeneration;
    handle.words = delta.length;
    // Applied by the worker after the runs sent before it and before those sent after.
    await this.inCallOrder(() => this.device().request({ op: 'delta', handle: handle.id, delta }));
  }

  /**
   * Send a delta or a read once every run and delta called before it has been sent (runs are sent
   * a few microtasks after their call, see `unsent`), and hold later runs and deltas until it is:
   * the worker then sees it in call order. Resolves with the worker's answer.
   */
  private async inCallOrder<T>(send: () => Promise<T>): Promise<T> {
    const runsBefore = this.unsent.map((r) => r.sent);
    const deltasBefore = this.deltasSent;
    let markSent!: () => void;
    this.deltasSent = new Promise<void>((resolve) => (markSent = resolve));
    let answer: Promise<T>;
    try {
      await Promise.all([...runsBefore, deltasBefore]);
      answer = send();
    } finally {
      markSent();
    }
    return answer;
  }

  override runKernel(kernel: string, io: KernelIo, structures: readonly StructureHandle[], params: Record<string, number> = {}): Promise<KernelRunStats> {
    if (this.opts.device === 'inline') return super.runKernel(kernel, io, structures, params);
    let markSent!: () => void;
    const entry: UnsentRun = { io, after: this.deltasSent, sent: new Promise<void>((resolve) => (markSent = resolve)), markSent: () => markSent() };
    this.unsent.push(entry);
    const run = super.runKernel(kernel, io, structures, params);
    // A run refused before it was sent (contract, injected failure) no longer holds deltas back.
    const settle = (): void => this.sentRun(entry);
    run.then(settle, settle);
    return run;
  }

  private sentRun(entry: UnsentRun): void {
    const i = this.unsent.indexOf(entry);
    if (i >= 0) this.unsent.splice(i, 1);
    entry.markSent();
  }

  async readStructure(handle: StructureHandle): Promise<Uint32Array> {
    if (this.opts.device === 'inline') return new Uint32Array(this.structures.image(handle));
    // The device and handle as of the call: a read outstanding at dispose fails as the device lost.
    const device = this.device();
    const id = this.deviceHandle(handle).id;
    const reply = await this.inCallOrder(() => device.request({ op: 'read', handle: id }));
    if (reply.image === undefined) throw new BackendFailure('null', 'modelled device answered a read without an image');
    return reply.image;
  }

  async releaseStructure(handle: StructureHandle): Promise<void> {
    if (this.opts.device === 'inline') return this.structures.release(handle);
    if (!this.onDevice.delete(handle.id)) return;
    await this.device().request({ op: 'release', handle: handle.id });
  }

  /**
   * A kernel form's run (kernels/*.ts): the kernel's reference on this thread, or on the
   * modelled device, whose answers are copied into `io`'s outputs. Device figures: `workerNs`
   * (the worker's compute), `pacedNs` (held back to the model's end), `lateNs` (ended after it).
   */
  async execute(kernel: string, io: KernelIo, structures: readonly StructureHandle[]): Promise<KernelFormResult | void> {
    if (this.opts.device === 'inline') {
      kernelReference(kernel)(structures.map((h) => this.structures.image(h)), io);
      return;
    }
    // This run's place in the call order (runKernel registered it); the same io may be in flight twice.
    const entry = this.unsent.find((r) => r.io === io);
    const device = this.device();
    const inputs = Object.keys(io.inputs);
    const outputs = Object.keys(io.outputs);
    const n = io.count;
    const slot = device.acquireSlot(n * (inputs.length + outputs.length));
    let pending: Promise<DeviceRunFigures>;
    try {
      try {
        if (entry !== undefined) await entry.after;
        inputs.forEach((name, k) => slot.words.set(io.inputs[name].subarray(0, n), k * n));
        const handles = structures.map((h) => this.deviceHandle(h).id);
        pending = device.run(slot, kernel, inputs, outputs, handles, n, this.modelledNs(io).simulatedNs);
      } finally {
        if (entry !== undefined) this.sentRun(entry);
      }
      const figures = await pending;
      outputs.forEach((name, k) => io.outputs[name].set(slot.words.subarray((inputs.length + k) * n, (inputs.length + k + 1) * n)));
      return { device: { ...figures } };
    } finally {
      device.releaseSlot(slot);
    }
  }

  protected override beforeRun(): void {
    this.runs++;
    if (this.opts.failAfterRuns !== undefined && this.runs > this.opts.failAfterRuns) {
      throw new BackendFailure('null', `device lost (configured failAfterRuns=${this.opts.failAfterRuns}, run ${this.runs})`);
    }
  }

  /** The configured costs applied to this run: what the planner would be charged. */
  protected override runFigures(_kernel: string, io: KernelIo): Record<string, number> {
    return this.modelledNs(io);
  }

  private modelledNs(io: KernelIo): { simulatedNs: number; bytes: number } {
    const c = this.opts.costs;
    let bytes = 0;
    for (const col of Object.values(io.inputs)) bytes += 4 * Math.min(io.count, col.length);
    for (const col of Object.values(io.outputs)) bytes += 4 * Math.min(io.count, col.length);
    return { simulatedNs: c.perBatchNs + c.perItemNs * io.count + c.perByteTransferNs * bytes, bytes };
  }

  protected defaultCosts(): CostModel {
    return { ...this.opts.costs };
  }

  async dispose(): Promise<void> {
    // Runs already called are sent first, and fail with the device (BackendFailure).
    await Promise.all(this.unsent.map((r) => r.sent));
    this.structures.clear();
    this.onDevice.clear();
    const device = this.modelled;
    this.modelled = null;
    await device?.terminate();
  }
}
