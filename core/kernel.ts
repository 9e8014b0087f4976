/**
 * Kernels: the heavy part of an element's work, declared once as a contract and implemented
 * as forms per backend. The CPU form is the reference; every other form is tested to give the
 * same outputs on the same inputs. One registry answers "which backends can run kernel K".
 */
import type { BackendName, KernelIo, StructureHandle } from './backend.js';
import type { StructureKind } from './structures/image.js';

export interface ColumnDecl {
  name: string;
  /** Every column is an Int32Array on the host; `u32` marks values read as unsigned (addresses). */
  type: 'i32' | 'u32';
}

export interface KernelContract {
  name: string;
  inputs: readonly ColumnDecl[];
  outputs: readonly ColumnDecl[];
  /** Structure images the kernel reads, in order. */
  state: readonly StructureKind[];
  /** Scalar parameters (e.g. a FIB index used for every item). */
  params?: readonly string[];
}

/** A backend's implementation of a kernel. `run` receives the backend's own structure handles. */
export interface KernelForm<B = unknown> {
  kernel: string;
  backend: BackendName;
  /** Variant name when one backend has several forms (e.g. 'wgsl', 'gpujs'). */
  variant?: string;
  run(backend: B, io: KernelIo, structures: readonly StructureHandle[], params: Record<string, number>): Promise<void> | void;
}

export class KernelRegistry {
  private readonly contracts = new Map<string, KernelContract>();
  private readonly forms = new Map<string, KernelForm>();

  declare(contract: KernelContract): KernelContract {
    if (this.contracts.has(contract.name)) throw new Error(`kernel ${contract.name} declared twice`);
    this.contracts.set(contract.name, contract);
    return contract;
  }

  contract(name: string): KernelContract {
    const c = this.contracts.get(name);
    if (c === undefined) throw new Error(`unknown kernel ${name}`);
    return c;
  }

  register<B>(form: KernelForm<B>): void {
    if (!this.contracts.has(form.kernel)) throw new Error(`registerKernel: kernel ${form.kernel} is not declared`);
    const key = formKey(form.kernel, form.backend, form.variant);
    if (this.forms.has(key)) throw new Error(`kernel ${form.kernel} already registered for backend ${form.backend}${form.variant ? ` (${form.variant})` : ''}`);
    this.forms.set(key, form as KernelForm);
  }

  form(kernel: string, backend: BackendName, variant?: string): KernelForm | undefined {
    return this.forms.get(formKey(kernel, backend, variant));
  }

  /** Backends (and variants) that can run `kernel`: what the planner chooses from. */
  backendsFor(kernel: string): { backend: BackendName; variant?: string }[] {
    return [...this.forms.values()].filter((f) => f.kernel === kernel).map((f) => ({ backend: f.backend, variant: f.variant }));
  }

  kernels(): KernelContract[] {
    return [...this.contracts.values()];
  }
}

function formKey(kernel: string, backend: BackendName, variant?: string): string {
  return `${kernel}@${backend}${variant ? `/${variant}` : ''}`;
}

/** The process-wide registry that backends register their forms into. */
export const kernelRegistry = new KernelRegistry();

/** Convenience mirroring TF.js: `registerKernel({kernel, backend, run})`. */
export function registerKernel<B>(form: KernelForm<B>): void {
  kernelRegistry.register(form);
}
