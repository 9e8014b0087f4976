/**
 * Kernels: the heavy part of an element's work, declared once as a contract and implemented
 * as forms per backend. The CPU form is the reference; every other form is tested to give the
 * same outputs on the same inputs. One registry answers "which backends can run kernel K".
 *
 * A contract is written `as const`, so the TypeScript types of a form's columns and params are
 * computed from it (`KernelIoOf`, `KernelParamsOf`): a form that reads a column the contract
 * does not declare does not compile. At run time `checkKernelIo` holds every batch to it.
 */
import type { BackendName, KernelIo, StructureHandle } from './backend.js';
import type { StructureKind } from './structures/image.js';

/** Every column is an Int32Array on the host; `u32` marks values read as unsigned (addresses). */
export type ColumnType = 'i32' | 'u32';

export interface ColumnDecl {
  readonly name: string;
  readonly type: ColumnType;
}

export interface KernelContract {
  readonly name: string;
  readonly inputs: readonly ColumnDecl[];
  readonly outputs: readonly ColumnDecl[];
  /** Structure images the kernel reads, in order. */
  readonly state: readonly StructureKind[];
  /** Scalar parameters (e.g. a FIB index used for every item). */
  readonly params?: readonly string[];
}

/** Column name -> Int32Array for a list of declarations. */
export type ColumnsOf<D extends readonly ColumnDecl[]> = { [K in D[number]['name']]: Int32Array };

/** The IO type of a contract's kernel: exactly its declared columns. */
export interface KernelIoOf<C extends KernelContract> {
  count: number;
  inputs: ColumnsOf<C['inputs']>;
  outputs: ColumnsOf<C['outputs']>;
}

/** The params type of a contract's kernel. */
export type KernelParamsOf<C extends KernelContract> = C['params'] extends readonly string[] ? { [K in C['params'][number]]: number } : Record<string, never>;

/**
 * Column names as constants (`cols.dst === 'dst'`), for code that spells a name outside
 * TypeScript's reach (WGSL sources, simulator bindings): renaming a column in the contract
 * breaks the build there instead of silently unbinding.
 */
export function columnNames<C extends KernelContract>(contract: C): { readonly [K in C['inputs'][number]['name'] | C['outputs'][number]['name']]: K } {
  const out: Record<string, string> = {};
  for (const c of [...contract.inputs, ...contract.outputs]) out[c.name] = c.name;
  return out as { readonly [K in C['inputs'][number]['name'] | C['outputs'][number]['name']]: K };
}

/** What a form reports besides its outputs (device figures: simulated cycles, GPU timestamps). */
export interface KernelFormResult {
  device?: Record<string, number>;
}

/** A backend's implementation of a kernel. `run` receives the backend's own structure handles. */
export interface KernelForm<B = unknown, C extends KernelContract = KernelContract> {
  readonly kernel: C['name'];
  readonly backend: BackendName;
  /** Variant name when one backend has several forms (e.g. gpu.js modes). */
  readonly variant?: string;
  /** The file that implements this form (from `import.meta.url`): what `README.md` of the kernel lists. */
  readonly source: string;
  run(backend: B, io: KernelIoOf<C>, structures: readonly StructureHandle[], params: KernelParamsOf<C>): Promise<KernelFormResult | void> | KernelFormResult | void;
}

/** A run that does not match its kernel's contract: names the kernel, the backend and the column. */
export class KernelContractError extends Error {
  constructor(
    readonly kernel: string,
    readonly backend: string,
    message: string,
  ) {
    super(`${kernel} on ${backend}: ${message}`);
    this.name = 'KernelContractError';
  }
}

/**
 * Hold one run to its contract: every declared column present, an Int32Array, at least `count`
 * long; no column or param the contract does not declare; every declared param a finite number;
 * one structure per declared state, of its kind. O(columns), once per batch.
 */
export function checkKernelIo(
  contract: KernelContract,
  backend: string,
  io: KernelIo,
  params: Record<string, number>,
  structures?: readonly StructureHandle[],
): void {
  const fail = (m: string): never => {
    throw new KernelContractError(contract.name, backend, m);
  };
  if (!Number.isInteger(io.count) || io.count < 0) fail(`count ${io.count} is not a non-negative integer`);
  for (const [side, decls, cols] of [
    ['input', contract.inputs, io.inputs],
    ['output', contract.outputs, io.outputs],
  ] as const) {
    for (const d of decls) {
      const col = cols[d.name] as unknown;
      if (col === undefined) fail(`${side} column '${d.name}' is missing`);
      if (!(col instanceof Int32Array)) fail(`${side} column '${d.name}' is ${describe(col)}, not an Int32Array (${d.type})`);
      else if (col.length < io.count) fail(`${side} column '${d.name}' has ${col.length} items, fewer than count ${io.count}`);
    }
    for (const name of Object.keys(cols)) {
      if (!decls.some((d) => d.name === name)) fail(`${side} column '${name}' is not in the contract (expected ${decls.map((d) => d.name).join(', ') || 'none'})`);
    }
  }
  const declared = contract.params ?? [];
  for (const p of declared) {
    const v = params[p];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`param '${p}' is ${v === undefined ? 'missing' : `not a finite number (${String(v)})`}`);
  }
  for (const p of Object.keys(params)) if (!declared.includes(p)) fail(`param '${p}' is not in the contract (expected ${declared.join(', ') || 'none'})`);
  if (structures !== undefined) {
    if (structures.length !== contract.state.length) fail(`takes ${contract.state.length} structure(s) (${contract.state.join(', ') || 'none'}), got ${structures.length}`);
    structures.forEach((s, i) => {
      if (s.kind !== contract.state[i]) fail(`structure #${i} is a ${s.kind}, expected ${contract.state[i]}`);
    });
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `a ${typeof v}`;
}

export class KernelRegistry {
  private readonly contracts = new Map<string, KernelContract>();
  private readonly forms = new Map<string, KernelForm>();

  declare<C extends KernelContract>(contract: C): C {
    if (this.contracts.has(contract.name)) throw new Error(`kernel ${contract.name} declared twice`);
    this.contracts.set(contract.name, contract);
    return contract;
  }

  contract(name: string): KernelContract {
    const c = this.contracts.get(name);
    if (c === undefined) throw new Error(`unknown kernel ${name}`);
    return c;
  }

  register<B, C extends KernelContract>(form: KernelForm<B, C>): void {
    if (!this.contracts.has(form.kernel)) throw new Error(`registerKernel: kernel ${form.kernel} is not declared`);
    const key = formKey(form.kernel, form.backend, form.variant);
    if (this.forms.has(key)) throw new Error(`kernel ${form.kernel} already registered for backend ${form.backend}${form.variant ? ` (${form.variant})` : ''}`);
    // The registry stores forms type-erased; runKernel checks every io against the contract first.
    this.forms.set(key, form as unknown as KernelForm);
  }

  form(kernel: string, backend: BackendName, variant?: string): KernelForm | undefined {
    return this.forms.get(formKey(kernel, backend, variant));
  }

  /** Every registered form of `kernel` (with the file each lives in). */
  formsOf(kernel: string): KernelForm[] {
    return [...this.forms.values()].filter((f) => f.kernel === kernel);
  }

  /** Backends (and variants) that can run `kernel`: what the planner chooses from. */
  backendsFor(kernel: string): { backend: BackendName; variant?: string }[] {
    return this.formsOf(kernel).map((f) => ({ backend: f.backend, variant: f.variant }));
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

/**
 * Register a backend's form of a contract's kernel (mirroring TF.js's `registerKernel`); the
 * form's io and params are typed from the contract.
 */
export function registerKernel<B, C extends KernelContract>(contract: C, form: Omit<KernelForm<B, C>, 'kernel'>): void {
  kernelRegistry.register<B, C>({ ...form, kernel: contract.name });
}
