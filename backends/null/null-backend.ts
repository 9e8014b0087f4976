/**
 * The null backend (tinygrad's ops_null idea): answers come from the CPU references, so they are
 * right, but the device, its costs and its timing are whatever the options say. It exists to
 * test the planner, migration and fallback deterministically without hardware:
 *   - `costs` are reported by costs() and used to compute a simulated time per run;
 *   - `unavailable` makes detect() refuse with that reason;
 *   - `failAfterRuns` makes every run after the first N throw BackendFailure (a lost device).
 */
import { z } from 'zod';
import { BackendFailure, BackendRefusal, type Availability, type Backend, type CostModel, type KernelIo, type KernelRunStats, type StructureHandle } from '../../core/backend.js';
import { kernelRegistry } from '../../core/kernel.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { HostStructures } from '../cpu/host-structures.js';
import './forms.js';

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
  })
  .strict();

export type NullBackendOptions = z.input<typeof nullBackendOptions>;

export class NullBackend implements Backend {
  readonly name = 'null' as const;
  readonly structures = new HostStructures('null');
  private readonly opts: z.output<typeof nullBackendOptions>;
  private runs = 0;

  constructor(options: NullBackendOptions = {}) {
    const r = nullBackendOptions.safeParse(options);
    if (!r.success) throw new Error(`null backend options: ${z.prettifyError(r.error)}`);
    this.opts = r.data;
  }

  async detect(): Promise<Availability> {
    if (this.opts.unavailable !== undefined) return { available: false, reason: this.opts.unavailable };
    return {
      available: true,
      device: { backend: 'null', description: this.opts.description, software: true, details: { ...this.opts.costs } },
    };
  }

  async loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle> {
    if (image.byteLength > this.opts.costs.capacityBytes) {
      throw new BackendRefusal('null', `image of ${image.byteLength} bytes exceeds the configured capacity of ${this.opts.costs.capacityBytes} bytes`);
    }
    return this.structures.load(kind, image, generation);
  }

  async applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void> {
    this.structures.apply(handle, delta);
  }

  async readStructure(handle: StructureHandle): Promise<Uint32Array> {
    return new Uint32Array(this.structures.image(handle));
  }

  async releaseStructure(handle: StructureHandle): Promise<void> {
    this.structures.release(handle);
  }

  async runKernel(kernel: string, io: KernelIo, structures: readonly StructureHandle[], params: Record<string, number> = {}): Promise<KernelRunStats> {
    this.runs++;
    if (this.opts.failAfterRuns !== undefined && this.runs > this.opts.failAfterRuns) {
      throw new BackendFailure('null', `device lost (configured failAfterRuns=${this.opts.failAfterRuns}, run ${this.runs})`);
    }
    const form = kernelRegistry.form(kernel, 'null');
    if (form === undefined) throw new Error(`null: kernel ${kernel} has no null form`);
    const t0 = performance.now();
    await form.run(this, io, structures, params);
    const c = this.opts.costs;
    let bytes = 0;
    for (const col of Object.values(io.inputs)) bytes += 4 * Math.min(io.count, col.length);
    for (const col of Object.values(io.outputs)) bytes += 4 * Math.min(io.count, col.length);
    return { hostMs: performance.now() - t0, device: { simulatedNs: c.perBatchNs + c.perItemNs * io.count + c.perByteTransferNs * bytes, bytes } };
  }

  costs(): CostModel {
    return { ...this.opts.costs };
  }

  async dispose(): Promise<void> {
    this.structures.clear();
  }
}
