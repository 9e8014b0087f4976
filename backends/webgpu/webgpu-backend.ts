/**
 * The webgpu backend on Dawn (npm `webgpu`): structure images live in storage buffers, kernels
 * are WGSL compute programs, and several batches are in flight at once through a ring of
 * per-program slots (input, output, staging and uniform buffers): while batch n computes and
 * batch n-1 maps back, batch n+1 is already written to the queue. Queue order is the ordering
 * guarantee: a delta written after a batch was submitted is not seen by that batch.
 *
 * A lost device or a validation error surfaces as BackendFailure (the offload runner falls back
 * to CPU on it); an image larger than one storage binding is refused (BackendRefusal) with both
 * sizes. The object from `create()` is held for the backend's whole life: if it is collected,
 * Dawn's instance dies under the live device and the process crashes at random (shared README).
 */
import { create } from 'webgpu';
import { BackendFailure, BackendRefusal, type Availability, type CostModel, type DeviceInfo, type KernelIo, type StructureHandle } from '../../core/backend.js';
import { BackendBase } from '../../core/backend-base.js';
import { kernelRegistry } from '../../core/kernel.js';
import { Semaphore } from '../../core/async/semaphore.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { checkDelta, checkImage } from '../../core/structures/structure-kinds.js';
import { isWebGpuKernelForm, WORKGROUP_SIZE, type ProgramHost, type ProgramRun, type WgslProgram } from './wgsl-program.js';
import './kernels/index.js';

// WebGPU's usage and map-mode bits (spec constants), kept local instead of installing Dawn's globals.
const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ = 1;

export interface WebGpuOptions {
  /** Slots per program: how many batches of one kernel may be in flight. */
  ringSize?: number;
  powerPreference?: 'low-power' | 'high-performance';
  /** Cap on one structure's buffer below the adapter's own limits (bytes), e.g. to share the GPU. */
  maxStructureBytes?: number;
  /** Storage bindings per shader stage to ask for, below the adapter's (8 is the WebGPU spec's
   * default: a device that offers no more, which every program must run on). */
  maxStorageBuffersPerShaderStage?: number;
}

interface GpuStructure {
  handle: StructureHandle;
  buffer: GPUBuffer;
  capacityWords: number;
}

interface Slot {
  capacity: number;
  inputs: GPUBuffer[];
  outputs: GPUBuffer[];
  staging: GPUBuffer | null;
  uniform: GPUBuffer | null;
  busy: boolean;
}

interface Ring {
  slots: Slot[];
  /** One permit per slot: holding one guarantees a slot that is not busy. */
  free: Semaphore;
}

export class WebGpuBackend extends BackendBase implements ProgramHost {
  readonly name = 'webgpu' as const;
  private readonly ringSize: number;
  private readonly powerPreference: 'low-power' | 'high-performance';
  private readonly maxStructureBytes: number;
  /** Held for the backend's whole life (see the file comment). */
  private gpu: GPU | null = null;
  private adapter: GPUAdapter | null = null;
  private device: GPUDevice | null = null;
  private detection: Promise<Availability> | null = null;
  private lostReason: string | null = null;
  private uncaptured: string | null = null;
  private disposed = false;
  private nextId = 1;
  private readonly structures = new Map<number, GpuStructure>();
  /** The program cache: one compiled pipeline per explicit program key (with the source it was compiled from). */
  private readonly pipelines = new Map<string, { source: string; pipeline: Promise<GPUComputePipeline> }>();
  private readonly rings = new Map<string, Ring>();
  private readonly constants = new Map<string, GPUBuffer>();
  deviceInfo: DeviceInfo | null = null;

  constructor(options: WebGpuOptions = {}) {
    super();
    this.ringSize = Math.max(1, options.ringSize ?? 3);
    this.powerPreference = options.powerPreference ?? 'high-performance';
    this.maxStructureBytes = options.maxStructureBytes ?? Infinity;
    this.storageBufferCap = options.maxStorageBuffersPerShaderStage ?? Infinity;
  }

  private readonly storageBufferCap: number;

  detect(): Promise<Availability> {
    this.detection ??= this.open();
    return this.detection;
  }

  private async open(): Promise<Availability> {
    try {
      this.gpu = create([]);
      const adapter = await this.gpu.requestAdapter({ powerPreference: this.powerPreference });
      if (adapter === null) return { available: false, reason: 'webgpu: no adapter (requestAdapter returned null; is a Vulkan driver such as Mesa lavapipe installed?)' };
      const info = adapter.info;
      const lim = adapter.limits;
      // Ask for the adapter's real limits: the defaults (128 MiB binding, 256 MiB buffer) would cap the image size for no reason.
      const device = await adapter.requestDevice({
        requiredLimits: {
          maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
          maxBufferSize: lim.maxBufferSize,
          maxStorageBuffersPerShaderStage: Math.min(lim.maxStorageBuffersPerShaderStage, this.storageBufferCap),
          maxComputeWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension,
        },
      });
      this.adapter = adapter;
      this.device = device;
      void device.lost.then((l) => {
        if (!this.disposed) this.lostReason = `device lost (${l.reason}): ${l.message}`;
      });
      device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
        this.uncaptured = ev.error.message;
      };
      const text = `${info.description} ${info.device} ${info.architecture}`;
      const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
      const software = fallback || /llvmpipe|lavapipe|swiftshader|software/i.test(text);
      this.deviceInfo = {
        backend: 'webgpu',
        description: info.description || info.device || `${info.vendor} ${info.architecture}`,
        software,
        sharesHostCpu: software,
        details: {
          vendor: info.vendor,
          architecture: info.architecture,
          device: info.device,
          isFallbackAdapter: fallback,
          maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
          maxBufferSize: device.limits.maxBufferSize,
          maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
        },
      };
      return { available: true, device: this.deviceInfo };
    } catch (e) {
      return { available: false, reason: `webgpu: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** The live device, or BackendFailure naming why there is none. */
  gpuDevice(): GPUDevice {
    if (this.lostReason !== null) throw new BackendFailure('webgpu', this.lostReason);
    if (this.uncaptured !== null) {
      const m = this.uncaptured;
      this.uncaptured = null;
      throw new BackendFailure('webgpu', `uncaptured device error: ${m}`);
    }
    if (this.device === null) throw new BackendFailure('webgpu', this.disposed ? 'backend disposed' : 'not detected (call detect() first)');
    return this.device;
  }

  private maxBindingBytes(device: GPUDevice): number {
    return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, this.maxStructureBytes);
  }

  async loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle> {
    await this.detect();
    const device = this.gpuDevice();
    const max = this.maxBindingBytes(device);
    if (image.byteLength > max) {
      throw new BackendRefusal('webgpu', `image of ${image.length} words (${image.byteLength} bytes) exceeds one storage binding on ${this.deviceInfo?.description}: maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize}, maxBufferSize ${device.limits.maxBufferSize}${Number.isFinite(this.maxStructureBytes) ? `, configured maxStructureBytes ${this.maxStructureBytes}` : ''} bytes`);
    }
    checkImage('webgpu', kind, image);
    // Headroom so most deltas that grow the image do not need a new buffer.
    const capacityWords = Math.max(4, Math.min(Math.floor(max / 4), Math.ceil(image.length * 1.25) + 64));
    const buffer = await this.createFilled(device, capacityWords, image);
    const handle: StructureHandle = { backend: 'webgpu', kind, id: this.nextId++, generation, words: image.length };
    this.structures.set(handle.id, { handle, buffer, capacityWords });
    return handle;
  }

  private async createFilled(device: GPUDevice, words: number, data: Uint32Array): Promise<GPUBuffer> {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const buffer = device.createBuffer({ size: words * 4, usage: USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC, mappedAtCreation: true });
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    const err = validation ?? oom;
    if (err !== null) throw new BackendFailure('webgpu', `cannot allocate a ${words * 4}-byte storage buffer: ${err.message}`);
    new Uint32Array(buffer.getMappedRange()).set(data);
    buffer.unmap();
    return buffer;
  }

  /** The storage buffer holding a structure (for kernel forms). */
  structureBuffer(handle: StructureHandle): GPUBuffer {
    return this.structure(handle).buffer;
  }

  private structure(handle: StructureHandle): GpuStructure {
    const s = handle.backend === 'webgpu' ? this.structures.get(handle.id) : undefined;
    if (s === undefined) throw new Error(`webgpu: structure #${handle.id} (${handle.backend}) is not held here (released, or loaded on another backend)`);
    return s;
  }

  async applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void> {
    const s = this.structure(handle);
    checkDelta(handle, delta);
    const device = this.gpuDevice();
    device.pushErrorScope('validation');
    // The scope is popped whatever happens: a leaked one would swallow later errors on this shared device.
    let err: GPUError | null;
    try {
      if (delta.length > s.capacityWords) await this.grow(device, s, delta.length);
      else if (delta.length < handle.words) {
        // A shrink zeroes the words it drops, so a later growth over them reads zero as on every backend.
        const enc = device.createCommandEncoder();
        enc.clearBuffer(s.buffer, delta.length * 4, (handle.words - delta.length) * 4);
        device.queue.submit([enc.finish()]);
      }
      for (const w of delta.writes) {
        if (w.words.length > 0) device.queue.writeBuffer(s.buffer, w.offset * 4, w.words.buffer, w.words.byteOffset, w.words.byteLength);
      }
    } finally {
      err = await device.popErrorScope();
    }
    if (err !== null) throw new BackendFailure('webgpu', `validation error applying delta ${delta.fromGeneration}->${delta.toGeneration}: ${err.message}`);
    handle.generation = delta.toGeneration;
    handle.words = delta.length;
  }

  /** Grow = new buffer + copyBufferToBuffer; the old one is destroyed once the copy has run. */
  private async grow(device: GPUDevice, s: GpuStructure, words: number): Promise<void> {
    const max = this.maxBindingBytes(device);
    if (words * 4 > max) throw new BackendRefusal('webgpu', `delta grows structure #${s.handle.id} to ${words} words (${words * 4} bytes), above one storage binding (${max} bytes)`);
    const capacityWords = Math.min(Math.floor(max / 4), Math.max(words, Math.ceil(s.capacityWords * 1.5)));
    const buffer = device.createBuffer({ size: capacityWords * 4, usage: USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(s.buffer, 0, buffer, 0, s.handle.words * 4);
    device.queue.submit([enc.finish()]);
    const old = s.buffer;
    s.buffer = buffer;
    s.capacityWords = capacityWords;
    await device.queue.onSubmittedWorkDone();
    old.destroy();
  }

  async readStructure(handle: StructureHandle): Promise<Uint32Array> {
    const s = this.structure(handle);
    const device = this.gpuDevice();
    const bytes = handle.words * 4;
    const staging = device.createBuffer({ size: Math.max(4, bytes), usage: USAGE.MAP_READ | USAGE.COPY_DST });
    try {
      const enc = device.createCommandEncoder();
      if (bytes > 0) enc.copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_READ, 0, Math.max(4, bytes));
      const out = new Uint32Array(handle.words);
      out.set(new Uint32Array(staging.getMappedRange(0, Math.max(4, bytes))).subarray(0, handle.words));
      staging.unmap();
      return out;
    } catch (e) {
      throw this.asFailure(e, 'readStructure');
    } finally {
      staging.destroy();
    }
  }

  async releaseStructure(handle: StructureHandle): Promise<void> {
    const s = this.structures.get(handle.id);
    if (s === undefined || handle.backend !== 'webgpu') return;
    this.structures.delete(handle.id);
    if (this.device !== null) await this.device.queue.onSubmittedWorkDone();
    s.buffer.destroy();
  }

  /** A constant table uploaded once per device (e.g. the Toeplitz tables), by name. */
  constantBuffer(name: string, data: Int32Array | Uint32Array): GPUBuffer {
    let b = this.constants.get(name);
    if (b === undefined) {
      const device = this.gpuDevice();
      b = device.createBuffer({ size: Math.max(4, data.byteLength), usage: USAGE.STORAGE | USAGE.COPY_DST, mappedAtCreation: true });
      new Uint32Array(b.getMappedRange()).set(new Uint32Array(data.buffer, data.byteOffset, data.length));
      b.unmap();
      this.constants.set(name, b);
    }
    return b;
  }

  protected override async beforeRun(): Promise<void> {
    await this.detect();
  }

  /** The program a kernel runs here: its registered form's (kernels/<kernel>.ts), compiled once per key. */
  program(kernel: string, structures: readonly StructureHandle[]): ProgramRun {
    const form = kernelRegistry.form(kernel, 'webgpu');
    if (form === undefined || !isWebGpuKernelForm(form)) throw new Error(`webgpu: no WGSL program for kernel ${kernel}`);
    return form.program(this, structures);
  }

  private pipeline(device: GPUDevice, program: WgslProgram): Promise<GPUComputePipeline> {
    // A program wider than the device's storage bindings (WebGPU's default is 8; a program with
    // many input columns packs them, see WgslProgram.packInputs) cannot run there: refused with
    // both numbers, so the runner falls back to the CPU.
    const storage = (program.packInputs === true ? 1 : program.inputs.length) + program.outputs.length + program.extra.length;
    const maxStorage = device.limits.maxStorageBuffersPerShaderStage;
    if (storage > maxStorage) throw new BackendRefusal('webgpu', `${program.key} binds ${storage} storage buffers, above this device's maxStorageBuffersPerShaderStage ${maxStorage}`);
    const cached = this.pipelines.get(program.key);
    if (cached !== undefined) {
      // Two programs under one key would silently run the wrong one: a key names one source.
      if (cached.source !== program.source) throw new Error(`webgpu: program key ${program.key} names two different sources (bump the key's version)`);
      return cached.pipeline;
    }
    const module = device.createShaderModule({ code: program.source, label: program.key });
    const p = device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: program.key }).catch(async (e: unknown) => {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${program.key}:${m.lineNum}:${m.linePos}: ${m.type}: ${m.message}`).join('\n');
      throw new Error(`webgpu: cannot compile ${program.key}: ${e instanceof Error ? e.message : String(e)}${msgs ? `\n${msgs}` : ''}`);
    });
    this.pipelines.set(program.key, { source: program.source, pipeline: p });
    return p;
  }

  /** Keys of the pipelines compiled so far: the program cache, one entry per distinct program key. */
  compiledPrograms(): string[] {
    return [...this.pipelines.keys()];
  }

  private ring(program: WgslProgram): Ring {
    let r = this.rings.get(program.key);
    if (r === undefined) {
      r = { slots: [], free: new Semaphore(this.ringSize) };
      for (let i = 0; i < this.ringSize; i++) r.slots.push({ capacity: 0, inputs: [], outputs: [], staging: null, uniform: null, busy: false });
      this.rings.set(program.key, r);
    }
    return r;
  }

  private async acquire(ring: Ring): Promise<Slot> {
    await ring.free.acquire();
    const s = ring.slots.find((x) => !x.busy);
    if (s === undefined) throw new Error('webgpu: ring permit held but every slot is busy');
    s.busy = true;
    return s;
  }

  private release(ring: Ring, slot: Slot): void {
    slot.busy = false;
    ring.free.release();
  }

  private sizeSlot(device: GPUDevice, slot: Slot, program: WgslProgram, count: number): void {
    if (slot.capacity >= count && slot.uniform !== null) return;
    for (const b of [...slot.inputs, ...slot.outputs]) b.destroy();
    slot.staging?.destroy();
    const cap = Math.max(256, 2 ** Math.ceil(Math.log2(count)));
    slot.capacity = cap;
    slot.inputs =
      program.packInputs === true
        ? [device.createBuffer({ size: cap * 4 * program.inputs.length, usage: USAGE.STORAGE | USAGE.COPY_DST })]
        : program.inputs.map(() => device.createBuffer({ size: cap * 4, usage: USAGE.STORAGE | USAGE.COPY_DST }));
    slot.outputs = program.outputs.map(() => device.createBuffer({ size: cap * 4, usage: USAGE.STORAGE | USAGE.COPY_SRC }));
    slot.staging = device.createBuffer({ size: cap * 4 * program.outputs.length, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    slot.uniform ??= device.createBuffer({ size: 16, usage: USAGE.UNIFORM | USAGE.COPY_DST });
  }

  private encode(device: GPUDevice, pipeline: GPUComputePipeline, slot: Slot, run: ProgramRun, count: number, repeats: number, readback: boolean): GPUCommandBuffer {
    const groups = Math.ceil(count / WORKGROUP_SIZE);
    const maxX = device.limits.maxComputeWorkgroupsPerDimension;
    const x = Math.min(groups, maxX);
    const y = Math.ceil(groups / x);
    if (y > maxX) throw new BackendRefusal('webgpu', `batch of ${count} items needs ${groups} workgroups, above ${maxX}^2`);
    device.queue.writeBuffer(slot.uniform as GPUBuffer, 0, Uint32Array.of(count, x * WORKGROUP_SIZE, 0, 0));
    const bytes = count * 4;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: slot.uniform as GPUBuffer } }];
    let b = 1;
    const inputBytes = run.program.packInputs === true ? bytes * run.program.inputs.length : bytes;
    for (const buf of slot.inputs) entries.push({ binding: b++, resource: { buffer: buf, size: inputBytes } });
    for (const buf of slot.outputs) entries.push({ binding: b++, resource: { buffer: buf, size: bytes } });
    for (const buf of run.extras) entries.push({ binding: b++, resource: { buffer: buf } });
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const enc = device.createCommandEncoder();
    for (let r = 0; r < repeats; r++) {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y);
      pass.end();
    }
    if (readback) slot.outputs.forEach((buf, k) => enc.copyBufferToBuffer(buf, 0, slot.staging as GPUBuffer, k * bytes, bytes));
    return enc.finish();
  }

  private upload(device: GPUDevice, slot: Slot, program: WgslProgram, io: KernelIo): void {
    program.inputs.forEach((name, k) => {
      const col = io.inputs[name];
      if (col === undefined || col.length < io.count) throw new Error(`webgpu: ${program.key}: input column '${name}' is missing or shorter than ${io.count}`);
      // Packed: column k at words [k * count, (k + 1) * count) of the one input buffer.
      if (program.packInputs === true) device.queue.writeBuffer(slot.inputs[0], k * io.count * 4, col.buffer, col.byteOffset, io.count * 4);
      else device.queue.writeBuffer(slot.inputs[k], 0, col.buffer, col.byteOffset, io.count * 4);
    });
  }

  /** Upload the columns, dispatch, read the outputs back; several calls overlap through the ring. */
  async runProgram(run: ProgramRun, io: KernelIo): Promise<void> {
    const { program } = run;
    for (const name of program.outputs) {
      const col = io.outputs[name];
      if (col === undefined || col.length < io.count) throw new Error(`webgpu: ${program.key}: output column '${name}' is missing or shorter than ${io.count}`);
    }
    if (io.count === 0) return;
    const device = this.gpuDevice();
    const pipeline = await this.pipeline(device, program);
    const ring = this.ring(program);
    const slot = await this.acquire(ring);
    try {
      const dev = this.gpuDevice();
      this.sizeSlot(dev, slot, program, io.count);
      dev.pushErrorScope('validation');
      let errP: Promise<GPUError | null>;
      try {
        this.upload(dev, slot, program, io);
        dev.queue.submit([this.encode(dev, pipeline, slot, run, io.count, 1, true)]);
      } finally {
        // Popped even when upload or encode throws, so no scope leaks onto the shared device.
        errP = dev.popErrorScope();
        errP.catch(() => undefined);
      }
      const bytes = io.count * 4 * program.outputs.length;
      const staging = slot.staging as GPUBuffer;
      const mapP = staging.mapAsync(MAP_READ, 0, bytes);
      let mapError: unknown = null;
      await mapP.catch((e: unknown) => {
        mapError = e ?? new Error('mapAsync rejected');
      });
      const err = await errP;
      if (mapError !== null) throw mapError;
      if (err !== null) {
        staging.unmap();
        throw new BackendFailure('webgpu', `validation error in ${program.key}: ${err.message}`);
      }
      const data = new Int32Array(staging.getMappedRange(0, bytes));
      program.outputs.forEach((name, k) => io.outputs[name].set(data.subarray(k * io.count, (k + 1) * io.count)));
      staging.unmap();
    } catch (e) {
      throw this.asFailure(e, program.key);
    } finally {
      this.release(ring, slot);
    }
  }

  /**
   * Kernel-only time: upload once, then `repeats` dispatches with no transfers, timed to
   * queue completion. For the bench's kernel vs end-to-end rows.
   */
  async timeKernelOnly(kernel: string, io: KernelIo, structures: readonly StructureHandle[], repeats: number): Promise<number> {
    await this.detect();
    const run = this.program(kernel, structures);
    const device = this.gpuDevice();
    const pipeline = await this.pipeline(device, run.program);
    const ring = this.ring(run.program);
    const slot = await this.acquire(ring);
    try {
      this.sizeSlot(device, slot, run.program, io.count);
      this.upload(device, slot, run.program, io);
      device.queue.submit([this.encode(device, pipeline, slot, run, io.count, 1, false)]);
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      device.queue.submit([this.encode(device, pipeline, slot, run, io.count, repeats, false)]);
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / repeats;
    } catch (e) {
      throw this.asFailure(e, run.program.key);
    } finally {
      this.release(ring, slot);
    }
  }

  private asFailure(e: unknown, what: string): Error {
    if (e instanceof BackendFailure || e instanceof BackendRefusal) return e;
    if (this.lostReason !== null) return new BackendFailure('webgpu', `${this.lostReason} (during ${what})`);
    const msg = e instanceof Error ? e.message : String(e);
    // Errors of our own making (a missing column) are not the device's: let them through as they are.
    if (e instanceof Error && msg.startsWith('webgpu: ') && !/mapAsync|device/i.test(msg)) return e;
    return new BackendFailure('webgpu', `${what}: ${msg}`);
  }

  /**
   * Uncalibrated figures for the planner; the bench measures the real ones. A software adapter
   * (lavapipe) is charged what was measured here (~30 M lookups/s, sub-millisecond launches).
   */
  protected defaultCosts(): CostModel {
    const software = this.deviceInfo?.software ?? true;
    return {
      perItemNs: software ? 33 : 0.5,
      perBatchNs: software ? 300_000 : 30_000,
      perByteTransferNs: software ? 0.5 : 0.05,
      capacityBytes: this.device?.limits.maxStorageBufferBindingSize ?? 0,
    };
  }

  /** Test hook for failure handling: destroys the device, as a driver reset would. */
  loseDeviceForTesting(): void {
    this.device?.destroy();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const s of this.structures.values()) s.buffer.destroy();
    this.structures.clear();
    for (const r of this.rings.values()) {
      for (const s of r.slots) {
        for (const b of [...s.inputs, ...s.outputs]) b.destroy();
        s.staging?.destroy();
        s.uniform?.destroy();
      }
    }
    this.rings.clear();
    for (const b of this.constants.values()) b.destroy();
    this.constants.clear();
    this.pipelines.clear();
    this.device?.destroy();
    this.device = null;
    this.adapter = null;
    // Dropped last, after the device it owns is gone.
    this.gpu = null;
  }
}
