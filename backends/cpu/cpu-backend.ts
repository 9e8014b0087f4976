/**
 * The cpu backend: images as typed arrays in this process, kernels as their TypeScript forms.
 * It is always available and is where every offloaded kernel falls back to.
 */
import os from 'node:os';
import type { Availability, CostModel, StructureHandle } from '../../core/backend.js';
import { BackendBase } from '../../core/backend-base.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { HostStructures } from './host-structures.js';
import './kernels/index.js';

export class CpuBackend extends BackendBase {
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

  /** Rough figures from the shared README (TypeScript DIR-24-8: ~31 M lookups/s on one core). */
  protected defaultCosts(): CostModel {
    return { perItemNs: 32, perBatchNs: 1_000, perByteTransferNs: 0, capacityBytes: os.totalmem() / 4 };
  }

  async dispose(): Promise<void> {
    this.structures.clear();
  }
}
