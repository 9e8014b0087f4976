/**
 * The cpu backend: images as typed arrays in this process, kernels as their TypeScript forms.
 * It is always available and is where every offloaded kernel falls back to.
 */
import os from 'node:os';
import type { Availability, Backend, CostModel, KernelIo, KernelRunStats, StructureHandle } from '../../core/backend.js';
import { kernelRegistry } from '../../core/kernel.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { HostStructures } from './host-structures.js';
import './forms.js';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly structures = new HostStructures('cpu');

  async detect(): Promise<Availability> {
    const cpus = os.cpus();
    return {
      available: true,
      device: {
        backend: 'cpu',
        description: cpus[0]?.model ?? 'unknown CPU',
        software: false,
        details: { cores: cpus.length, node: process.version, arch: os.arch() },
      },
    };
  }

  async loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle> {
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
    const form = kernelRegistry.form(kernel, 'cpu');
    if (form === undefined) throw new Error(`cpu: kernel ${kernel} has no cpu form`);
    const t0 = performance.now();
    await form.run(this, io, structures, params);
    return { hostMs: performance.now() - t0 };
  }

  /** Rough figures from the shared README (TypeScript DIR-24-8: ~31 M lookups/s on one core). */
  costs(): CostModel {
    return { perItemNs: 32, perBatchNs: 1_000, perByteTransferNs: 0, capacityBytes: os.totalmem() / 4 };
  }

  async dispose(): Promise<void> {
    this.structures.clear();
  }
}
