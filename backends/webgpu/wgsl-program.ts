/**
 * A WGSL program of the webgpu backend (onnxruntime-web's ProgramInfo): its explicit cache key
 * (one compiled pipeline per key, in the backend's one program cache), its columns and source.
 * Binding convention shared with `WebGpuBackend.runProgram`: binding 0 is the uniform `Params`,
 * then one storage buffer per input column, one per output column (both in the kernel
 * contract's order, declared by `columnBindings` from the contract itself), then the structures
 * / constant tables. Items are indexed over a 2-D dispatch (`rowStride` threads per row) so
 * batches above 65,535 workgroups still fit the dispatch limit.
 */
import type { KernelIo, StructureHandle } from '../../core/backend.js';
import { kernelRegistry, type KernelContract, type KernelForm } from '../../core/kernel.js';

export interface WgslProgram {
  /** Pipeline cache key: one compiled pipeline per distinct key (`kernel/wgsl/version`). */
  key: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Extra read-only storage bindings after the columns (structures, tables). */
  extra: readonly string[];
  /**
   * The input columns share one storage binding, `inputs` (u32), column k at words
   * [k * count, (k + 1) * count) with count = params.count (`packedInput`): a program with more
   * input columns than a device's storage bindings allow (WebGPU's default is 8) still fits.
   */
  packInputs?: boolean;
  source: string;
}

/** What a webgpu kernel form hands the backend to run: the program and its extra bindings. */
export interface ProgramRun {
  program: WgslProgram;
  extras: GPUBuffer[];
}

/** The backend surface a program builder may use (kept narrow to avoid an import cycle). */
export interface ProgramHost {
  structureBuffer(handle: StructureHandle): GPUBuffer;
  constantBuffer(name: string, data: Int32Array | Uint32Array): GPUBuffer;
  runProgram(run: ProgramRun, io: KernelIo): Promise<void>;
}

/**
 * A webgpu kernel form: registered in the kernel registry like every form, and also able to
 * name its program (so the bench times exactly the program a kernel runs, from the same cache).
 */
export interface WebGpuKernelForm extends KernelForm {
  program(host: ProgramHost, structures: readonly StructureHandle[]): ProgramRun;
}

export function isWebGpuKernelForm(f: KernelForm): f is WebGpuKernelForm {
  return typeof (f as Partial<WebGpuKernelForm>).program === 'function';
}

/** Register `contract`'s webgpu form: it runs the program `program` builds (`source`: import.meta.url of the form's file). */
export function registerWgslKernel(contract: KernelContract, source: string, program: WebGpuKernelForm['program']): void {
  const form: WebGpuKernelForm = {
    kernel: contract.name,
    backend: 'webgpu',
    source,
    program,
    run: (backend, io, structures) => {
      const host = backend as ProgramHost;
      return host.runProgram(program(host, structures), io);
    },
  };
  kernelRegistry.register(form);
}

export const WORKGROUP_SIZE = 256;

export const PRELUDE = /* wgsl */ `
struct Params { count: u32, rowStride: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
`;

export function itemIndex(): string {
  return /* wgsl */ `let i = gid.y * params.rowStride + gid.x;
  if (i >= params.count) { return; }`;
}


/**
 * The column bindings of a contract, in the binding convention's order: inputs read-only,
 * outputs read-write, each `array<u32|i32>` as the contract types it, named as the contract
 * names it. A program's body uses the same names through the contract's column constants.
 */
export function columnBindings(contract: KernelContract): string {
  const lines: string[] = [];
  let b = 1;
  for (const c of contract.inputs) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${c.name}: array<${c.type}>;`);
  for (const c of contract.outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${c.name}: array<${c.type}>;`);
  return lines.join('\n');
}

/** Binding number of the first extra (structure / table) binding after a contract's columns. */
export function firstExtraBinding(contract: KernelContract, packInputs = false): number {
  return 1 + (packInputs ? 1 : contract.inputs.length) + contract.outputs.length;
}

/**
 * The column bindings of a program with packed inputs (`WgslProgram.packInputs`): binding 1 is
 * every input column in one read-only `array<u32>` named `inputs`, then the outputs as
 * `columnBindings` declares them. Inputs read as u32 bit patterns.
 */
export function packedColumnBindings(contract: KernelContract): string {
  const lines = ['@group(0) @binding(1) var<storage, read> inputs: array<u32>;'];
  let b = 2;
  for (const c of contract.outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${c.name}: array<${c.type}>;`);
  return lines.join('\n');
}

/** WGSL for item `i` of packed input column `k` (after `itemIndex()`). */
export function packedInput(k: number): string {
  return `inputs[${k}u * params.count + i]`;
}

/** A program's fields that come from its contract. */
export function programColumns(contract: KernelContract): { inputs: readonly string[]; outputs: readonly string[] } {
  return { inputs: contract.inputs.map((c) => c.name), outputs: contract.outputs.map((c) => c.name) };
}
