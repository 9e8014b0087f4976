/**
 * Backend: a place where kernels run (cpu, webgpu, fpga, null). Backends are small and know
 * nothing about elements: they detect their device, hold structure images, apply deltas,
 * run registered kernel forms on batches of columns, and report calibrated costs.
 */
import type { ImageDelta, StructureKind } from './structures/image.js';

/** A backend's name ('cpu', 'webgpu', ...); the app layer declares which exist (core/backend-registry.ts). */
export type BackendName = string;

export interface DeviceInfo {
  backend: BackendName;
  /** Human description: adapter name, simulator version, CPU model. */
  description: string;
  /** True for software stand-ins (lavapipe, a simulated FPGA): correct but not fast. */
  software: boolean;
  /**
   * The device's work runs on this machine's CPU cores (lavapipe, gpu.js's cpu and webasm
   * modes, the Verilator simulator), so it competes with the host thread for them; the
   * planner charges it to the CPU. False or absent for real devices and for the null
   * backend, which models a device by its configured costs.
   */
  sharesHostCpu?: boolean;
  /** Free-form facts shown by `hetbox backends` (vendor, architecture, limits, clock). */
  details: Record<string, string | number | boolean>;
}

export type Availability = { available: true; device: DeviceInfo } | { available: false; reason: string };

/** A structure image resident on a backend. */
export interface StructureHandle {
  readonly backend: BackendName;
  readonly kind: StructureKind;
  readonly id: number;
  /** Generation of the image the backend holds now. */
  generation: number;
  /** Words held (for capacity planning and `memory` handlers). */
  words: number;
}

/** Columns in and out of a kernel run; every column is an Int32Array of at least `count` items. */
export interface KernelIo {
  count: number;
  inputs: Record<string, Int32Array>;
  outputs: Record<string, Int32Array>;
}

/** What a kernel run reports besides its outputs. */
export interface KernelRunStats {
  /** Wall time on the host, milliseconds. */
  hostMs: number;
  /** Device-side figures where the backend has them (simulated cycles, GPU timestamps). */
  device?: Record<string, number>;
}

/** Measured or configured costs the planner uses (all in nanoseconds / bytes). */
export interface CostModel {
  perItemNs: number;
  perBatchNs: number;
  perByteTransferNs: number;
  capacityBytes: number;
}

/** A backend's costs for one kernel: measured on this backend, or its defaults until then. */
export interface KernelCosts extends CostModel {
  kernel: string;
  backend: BackendName;
  variant?: string;
  /** 'measured': from runs of this kernel here (`batches`, `items`); 'default': nothing measured yet. */
  source: 'measured' | 'default';
  batches: number;
  items: number;
}

export interface Backend {
  readonly name: BackendName;
  /** The variant whose forms this backend object runs (gpu.js's mode), if any. */
  readonly variant?: string;
  /** Detect the device (memoized); never throws: unavailability carries its reason. */
  detect(): Promise<Availability>;
  loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle>;
  applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void>;
  readStructure(handle: StructureHandle): Promise<Uint32Array>;
  releaseStructure(handle: StructureHandle): Promise<void>;
  /** Run kernel `kernel` (a registered form for this backend) over `io` with the given structures. */
  runKernel(kernel: string, io: KernelIo, structures: readonly StructureHandle[], params?: Record<string, number>): Promise<KernelRunStats>;
  /** Costs of running `kernel` here: measured where it has run, else the defaults (`source` says which). */
  costs(kernel: string): KernelCosts;
  dispose(): Promise<void>;
}

/** Raised by a backend whose device went away (GPU device lost, simulator crashed or hung). */
export class BackendFailure extends Error {
  constructor(readonly backend: BackendName, message: string) {
    super(`${backend}: ${message}`);
    this.name = 'BackendFailure';
  }
}

/**
 * Raised when a backend cannot take a request it was given (an image larger than one storage
 * binding, more words than its memory): the device is fine, the request is too big for it.
 * The offload runner treats it like a failure (falls back to CPU, visibly) unless strict.
 */
export class BackendRefusal extends Error {
  constructor(readonly backend: BackendName, message: string) {
    super(`${backend}: ${message}`);
    this.name = 'BackendRefusal';
  }
}
