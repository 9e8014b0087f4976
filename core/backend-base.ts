/**
 * The part of every backend that is the same on every backend: `runKernel` finds the form in
 * the kernel registry, holds the run to the kernel's contract (columns, lengths, params,
 * structures; `KernelContractError` names kernel, backend and column), times it, merges the
 * device figures the form returns, and records the run; `costs(kernel)` answers from those
 * records, or from the backend's defaults (and says which) before anything was measured.
 * A backend extends this class and implements the device-specific rest.
 */
import type { Availability, Backend, BackendName, CostModel, KernelCosts, KernelIo, KernelRunStats, StructureHandle } from './backend.js';
import { checkKernelIo, kernelRegistry } from './kernel.js';
import { KernelStats } from './kernel-stats.js';
import type { ImageDelta, StructureKind } from './structures/image.js';

export abstract class BackendBase implements Backend {
  abstract readonly name: BackendName;
  /** Every kernel run on this backend so far (what `costs(kernel)` is measured from). */
  readonly measured = new KernelStats();

  /** The variant whose forms this backend object runs (gpu.js's mode); none by default. */
  get variant(): string | undefined {
    return undefined;
  }

  /** `name` or `name/variant`, as errors and statistics name this backend. */
  get label(): string {
    return this.variant === undefined ? this.name : `${this.name}/${this.variant}`;
  }

  abstract detect(): Promise<Availability>;
  abstract loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle>;
  abstract applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void>;
  abstract readStructure(handle: StructureHandle): Promise<Uint32Array>;
  abstract releaseStructure(handle: StructureHandle): Promise<void>;
  abstract dispose(): Promise<void>;
  /** The backend's own figures, used for a kernel until a run of it was measured here. */
  protected abstract defaultCosts(kernel: string): CostModel;

  /** Runs before every kernel run, after the contract check (device ready, injected failures). */
  protected beforeRun(_kernel: string, _io: KernelIo): Promise<void> | void {}

  /** Figures this backend adds to every run's device figures (the null backend's simulated time). */
  protected runFigures(_kernel: string, _io: KernelIo): Record<string, number> | undefined {
    return undefined;
  }

  async runKernel(kernel: string, io: KernelIo, structures: readonly StructureHandle[], params: Record<string, number> = {}): Promise<KernelRunStats> {
    const contract = kernelRegistry.contract(kernel);
    const form = kernelRegistry.form(kernel, this.name, this.variant);
    if (form === undefined) throw new Error(`${this.label}: kernel ${kernel} has no ${this.label} form`);
    checkKernelIo(contract, this.label, io, params, structures);
    await this.beforeRun(kernel, io);
    const t0 = performance.now();
    // The registry's forms are type-erased; checkKernelIo has just held io and params to the contract.
    const result = await form.run(this, io, structures, params as never);
    const stats: KernelRunStats = { hostMs: performance.now() - t0 };
    const extra = this.runFigures(kernel, io);
    if (result?.device !== undefined || extra !== undefined) stats.device = { ...result?.device, ...extra };
    this.measured.record(kernel, this.name, this.variant, io.count, stats);
    return stats;
  }

  /**
   * Costs of `kernel` here: measured (mean host time per item and per batch over every run so
   * far; transfer and capacity stay the backend's figures) once a run with items was recorded,
   * else the backend's defaults, marked as such. Fitting a cost model is the planner's job.
   */
  costs(kernel: string): KernelCosts {
    const base = this.defaultCosts(kernel);
    const m = this.measured.get(kernel, this.name, this.variant);
    const variant = this.variant === undefined ? {} : { variant: this.variant };
    if (m === undefined || m.items === 0) return { ...base, kernel, backend: this.name, ...variant, source: 'default', batches: 0, items: 0 };
    return {
      ...base,
      perItemNs: (m.hostMs * 1e6) / m.items,
      perBatchNs: (m.hostMs * 1e6) / m.batches,
      kernel,
      backend: this.name,
      ...variant,
      source: 'measured',
      batches: m.batches,
      items: m.items,
    };
  }
}
