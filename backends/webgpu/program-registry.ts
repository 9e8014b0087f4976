/** Which WGSL program each kernel runs on the webgpu backend (filled by forms.ts). */
import type { StructureHandle } from '../../core/backend.js';
import type { WgslProgram } from './wgsl-programs.js';

/** What a webgpu kernel form hands the backend: the program and its extra bindings. */
export interface ProgramRun {
  program: WgslProgram;
  extras: GPUBuffer[];
}

/** The backend surface a program builder may use (kept narrow to avoid an import cycle). */
export interface ProgramHost {
  structureBuffer(handle: StructureHandle): GPUBuffer;
  constantBuffer(name: string, data: Int32Array | Uint32Array): GPUBuffer;
}

export type ProgramBuilder = (backend: ProgramHost, structures: readonly StructureHandle[]) => ProgramRun;

export const wgslPrograms = new Map<string, ProgramBuilder>();
