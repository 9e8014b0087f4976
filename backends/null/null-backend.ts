/**
 * The null backend (tinygrad's ops_null idea): answers come from the CPU references, so they are
 * right, but the device, its costs and its timing are whatever the options say. It exists to
 * test the planner, migration and fallback deterministically without hardware:
 *   - `costs` are reported by costs() and used to compute a simulated time per run;
 *   - `unavailable` makes detect() refuse with that reason;
 *   - `failAfterRuns` makes every run after the first N throw BackendFailure (a lost device).
 */
import { z } from 'zod';
import { BackendFailure, BackendRefusal, type Availability, type CostModel, type KernelIo, type StructureHandle } from '../../core/backend.js';
import { BackendBase } from '../../core/backend-base.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { HostStructures } from '../cpu/host-structures.js';
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
  })
  .strict();

export type NullBackendOptions = z.input<typeof nullBackendOptions>;

export class NullBackend extends BackendBase {
  readonly name = 'null' as const;
  readonly structures = new HostStructures('null');
  private readonly opts: z.output<typeof nullBackendOptions>;
  private runs = 0;

  constructor(options: NullBackendOptions = {}) {
    super();
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

  protected override beforeRun(): void {
    this.runs++;
    if (this.opts.failAfterRuns !== undefined && this.runs > this.opts.failAfterRuns) {
      throw new BackendFailure('null', `device lost (configured failAfterRuns=${this.opts.failAfterRuns}, run ${this.runs})`);
    }
  }

  /** The configured costs applied to this run: what the planner would be charged. */
  protected override runFigures(_kernel: string, io: KernelIo): Record<string, number> {
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
    this.structures.clear();
  }
}
