/**
 * OffloadRunner: what an element uses to run one kernel on a chosen backend.
 *
 * It keeps the element's structures resident on the backend (load once, forward every delta in
 * order, check generations), runs the kernel on batches of columns with up to `maxInFlight`
 * batches at once, and when the backend fails (BackendFailure), refuses (BackendRefusal), or
 * is unavailable at open (unless `env.strictBackends`), it moves to the cpu backend: a warning
 * through `env.log.warn`, and `status()` / `handlers()` / `summary()` say where the kernel runs
 * and why. It keeps a host copy of every structure, so the fallback needs nothing from the
 * device that failed.
 *
 * Ordering: a delta waits for the batches started before it and holds back those started after
 * it, so each batch sees exactly the structure generation that was current when it was started.
 */
import { BackendFailure, BackendRefusal, type Backend, type BackendName, type KernelIo, type KernelRunStats, type StructureHandle } from '../backend.js';
import { kernelRegistry } from '../kernel.js';
import type { HandlerTable } from '../handlers.js';
import type { RuntimeEnv } from '../runtime-env.js';
import { HostImage } from '../structures/host-image.js';
import type { ImageDelta, StructureKind } from '../structures/image.js';
import { checkDelta } from '../structures/structure-kinds.js';
import { getBackend } from '../backend-registry.js';
import { Semaphore } from '../async/semaphore.js';
import type { KernelStats } from '../kernel-stats.js';

export interface OffloadOptions {
  /** Kernel contract name (import the constant, e.g. IP_LOOKUP). */
  kernel: string;
  /** Backend asked for (an element's BACKEND argument, or env.defaultBackend). */
  backend: BackendName;
  /** Variant of that backend (gpu.js mode). */
  variant?: string;
  /** Element name, for log lines and errors. */
  owner: string;
  env: Pick<RuntimeEnv, 'log' | 'strictBackends' | 'backend'>;
  /** Batches in flight at once on the device (default 2). */
  maxInFlight?: number;
  /** Where every run's stats are recorded, per (kernel, backend, variant): the element's `kernel_stats`. */
  stats?: KernelStats;
  /**
   * False for a migration's target until it takes over: an unavailable backend, a load or a
   * delta it cannot take is then an error for the migration to roll back on, never a quiet move
   * to cpu (the migration would switch to a location nobody asked for). Default true.
   */
  fallback?: boolean;
}

export interface OffloadStatus {
  kernel: string;
  requested: string;
  /** Where the kernel runs now ('cpu' after a fallback). */
  backend: string;
  device: string;
  software: boolean;
  /** Why it runs on cpu instead of the requested backend; null when it does not. */
  fallbackReason: string | null;
  batches: number;
  items: number;
  deltas: number;
  maxInFlight: number;
}

interface Resident {
  kind: StructureKind;
  /** Host copy at the newest generation: the source for a fallback (and for migration). */
  image: HostImage;
  generation: number;
  handle: StructureHandle;
}

export class OffloadRunner {
  private backend!: Backend;
  private label: string;
  private device = '';
  private software = false;
  private fallbackReason: string | null = null;
  private fallingBack: Promise<void> | null = null;
  private readonly structures: Resident[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private barrier: Promise<void> = Promise.resolve();
  private readonly slots: Semaphore;
  private readonly maxInFlight: number;
  private batches = 0;
  private items = 0;
  private deltas = 0;
  private fallbackAllowed: boolean;
  /** The first device error seen while fallback was not allowed (a migration target's). */
  private failure: unknown = null;

  private constructor(private readonly opts: OffloadOptions) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
    this.slots = new Semaphore(this.maxInFlight);
    this.label = opts.variant === undefined ? opts.backend : `${opts.backend}/${opts.variant}`;
    this.fallbackAllowed = opts.fallback ?? true;
    kernelRegistry.contract(opts.kernel); // an unknown kernel is a programming error: throw now
  }

  /** Open a runner on the requested backend (or on cpu, visibly, when it cannot be had). */
  static async open(opts: OffloadOptions): Promise<OffloadRunner> {
    const r = new OffloadRunner(opts);
    await r.start();
    return r;
  }

  private async start(): Promise<void> {
    const { backend, variant, kernel, owner, env } = this.opts;
    let reason: string | null = null;
    // Getting the backend imports its module, which is what registers its kernel forms.
    try {
      this.backend = variant === undefined ? await env.backend(backend) : await getBackend(backend, variant);
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
    if (reason === null && !kernelRegistry.backendsFor(kernel).some((f) => f.backend === backend && (variant === undefined || f.variant === variant))) {
      reason = `no ${kernel} form is registered for ${this.label}`;
    }
    if (reason !== null) {
      if (!this.fallbackAllowed) throw new Error(`${owner}: backend ${this.label} is unavailable: ${reason}`);
      if (env.strictBackends && backend !== 'cpu') throw new Error(`${owner}: backend ${this.label} is required (strict backends) but unavailable: ${reason}`);
      if (backend === 'cpu') throw new Error(`${owner}: the cpu backend is unavailable: ${reason}`);
      this.fallbackReason = `${this.label} unavailable: ${reason}`;
      env.log.warn(`${owner}: ${kernel} runs on cpu instead of ${this.label}: ${reason}`);
      this.backend = await env.backend('cpu');
      this.label = 'cpu';
    }
    await this.describe();
  }

  private async describe(): Promise<void> {
    const a = await this.backend.detect();
    this.device = a.available ? a.device.description : a.reason;
    this.software = a.available ? a.device.software : false;
  }

  /** Put a structure on the backend; returns its index (the order the kernel's contract lists state in). */
  async addStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<number> {
    await this.barrier;
    const host = new HostImage(image);
    const index = this.structures.length;
    let handle: StructureHandle;
    try {
      handle = await this.backend.loadStructure(kind, host.words, generation);
    } catch (e) {
      if (!this.isDeviceTrouble(e) || !this.fallbackAllowed) throw e;
      if (this.opts.env.strictBackends && e instanceof BackendRefusal) throw new Error(`${this.opts.owner}: ${e.message}`);
      await this.fallBack(e);
      handle = await this.backend.loadStructure(kind, host.words, generation);
    }
    this.structures.push({ kind, image: host, generation, handle });
    return index;
  }

  /**
   * Forward a delta: refused unless it starts at the structure's current generation. It is
   * applied after the batches already started and before any started later.
   */
  applyDelta(index: number, delta: ImageDelta): Promise<void> {
    const s = this.structures[index];
    if (s === undefined) return Promise.reject(new Error(`${this.opts.owner}: no structure #${index}`));
    if (delta.fromGeneration !== s.generation) {
      return Promise.reject(new Error(`${this.opts.owner}: delta ${delta.fromGeneration}->${delta.toGeneration} does not follow generation ${s.generation} of structure #${index}`));
    }
    // Checked against the host copy first: a bad delta is refused before any backend sees it.
    try {
      checkDelta({ backend: 'host', kind: s.kind, id: index, generation: s.generation, words: s.image.length }, delta);
    } catch (e) {
      return Promise.reject(new Error(`${this.opts.owner}: ${e instanceof Error ? e.message : String(e)}`));
    }
    s.image.apply(delta);
    s.generation = delta.toGeneration;
    this.deltas++;
    const before = [...this.inflight, this.barrier];
    const applied = (async () => {
      await Promise.allSettled(before);
      await this.applyOnBackend(s, delta);
    })();
    // A delta that could not be applied anywhere is reported to its caller, and does not hold
    // back the batches after it (they run on cpu from the host copy by then).
    this.barrier = applied.catch(() => undefined);
    return applied;
  }

  private async applyOnBackend(s: Resident, delta: ImageDelta): Promise<void> {
    // A fallback since this delta was queued loaded the host copy, which already holds it.
    if (s.handle.generation === delta.toGeneration) return;
    try {
      await this.backend.applyDelta(s.handle, delta);
      if (s.handle.generation !== delta.toGeneration) {
        throw new BackendFailure(this.backend.name, `reports generation ${s.handle.generation} after delta ->${delta.toGeneration}`);
      }
    } catch (e) {
      // The device copy can no longer be trusted; the host copy is the truth, so move to cpu.
      if (this.backend.name === 'cpu') throw e;
      if (!this.fallbackAllowed) {
        this.failure ??= e;
        throw e;
      }
      await this.fallBack(e);
    }
  }

  /** Run the kernel over `io` (up to maxInFlight runs overlap); resolves once outputs are written. */
  run(io: KernelIo, params: Record<string, number> = {}): Promise<KernelRunStats & { backend: string }> {
    const barrier = this.barrier;
    const p = this.runAfter(barrier, io, params);
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  private async runAfter(barrier: Promise<void>, io: KernelIo, params: Record<string, number>): Promise<KernelRunStats & { backend: string }> {
    await barrier;
    await this.slots.acquire();
    try {
      const backend = this.backend;
      const handles = this.structures.map((s) => s.handle);
      try {
        const stats = await backend.runKernel(this.opts.kernel, io, handles, params);
        this.count(backend, io, stats);
        return { ...stats, backend: this.label };
      } catch (e) {
        if (!this.isDeviceTrouble(e) || backend.name === 'cpu' || !this.fallbackAllowed) throw e;
        await this.fallBack(e);
        const stats = await this.backend.runKernel(this.opts.kernel, io, this.structures.map((s) => s.handle), params);
        this.count(this.backend, io, stats);
        return { ...stats, backend: this.label };
      }
    } finally {
      this.slots.release();
    }
  }

  private count(backend: Backend, io: KernelIo, stats: KernelRunStats): void {
    this.batches++;
    this.items += io.count;
    this.opts.stats?.record(this.opts.kernel, backend.name, backend.variant, io.count, stats);
  }

  private isDeviceTrouble(e: unknown): boolean {
    return e instanceof BackendFailure || e instanceof BackendRefusal;
  }

  /** Move to cpu once, however many batches saw the failure. */
  private fallBack(e: unknown): Promise<void> {
    this.fallingBack ??= (async () => {
      const msg = e instanceof Error ? e.message : String(e);
      const from = this.label;
      this.fallbackReason = `${from} failed: ${msg}`;
      this.opts.env.log.warn(`${this.opts.owner}: ${this.opts.kernel} falls back from ${from} to cpu: ${msg}`);
      const old = this.backend;
      const cpu = await this.opts.env.backend('cpu');
      for (const s of this.structures) {
        const oldHandle = s.handle;
        s.handle = await cpu.loadStructure(s.kind, s.image.words, s.generation);
        await old.releaseStructure(oldHandle).catch(() => undefined);
      }
      this.backend = cpu;
      this.label = 'cpu';
      await this.describe();
    })();
    return this.fallingBack;
  }

  /**
   * Run the kernel once without counting it (stats, batches): a migration's target compiles its
   * pipeline and touches its image here, during pre-copy, not in the first batch after the switch.
   */
  async warmUp(io: KernelIo): Promise<void> {
    await this.barrier;
    await this.backend.runKernel(this.opts.kernel, io, this.structures.map((s) => s.handle));
  }

  /** Once a migration's target has taken over, it falls back to cpu on failure like any runner. */
  enableFallback(): void {
    this.fallbackAllowed = true;
  }

  /** The device error a runner without fallback saw (a migration target's), else null. */
  get deviceFailure(): unknown {
    return this.failure;
  }

  /** Batches started and not yet finished (a migration's source drains these after the switch). */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Generation of a structure on the host copy and as the backend reports holding it. */
  generations(index: number): { host: number; device: number } {
    const s = this.structures[index];
    if (s === undefined) throw new Error(`${this.opts.owner}: no structure #${index}`);
    return { host: s.generation, device: s.handle.generation };
  }

  /** The structure as the backend holds it now (tests, migration's verification). */
  async readStructure(index: number): Promise<Uint32Array> {
    await this.barrier;
    const s = this.structures[index];
    if (s === undefined) throw new Error(`${this.opts.owner}: no structure #${index}`);
    return this.backend.readStructure(s.handle);
  }

  /**
   * The structure as the backend holds it, and the generation it holds it at: the read is
   * ordered with the deltas (those forwarded before it are applied first, those after it wait
   * for it), so the generation is exact however many deltas arrive meanwhile (a migration's
   * target reads once and follows the deltas after it, instead of reading until none came).
   */
  readStructureAtGeneration(index: number): Promise<{ words: Uint32Array; generation: number }> {
    const s = this.structures[index];
    if (s === undefined) return Promise.reject(new Error(`${this.opts.owner}: no structure #${index}`));
    const before = this.barrier;
    const read = (async () => {
      await before;
      const generation = s.handle.generation;
      return { words: await this.backend.readStructure(s.handle), generation };
    })();
    this.barrier = read.then(
      () => undefined,
      () => undefined,
    );
    return read;
  }

  /** Settles once every delta forwarded so far is applied on the backend (or failed). */
  async deltasApplied(): Promise<void> {
    await this.barrier;
  }

  /** Where the kernel runs and why: for the element's handlers and the run summary. */
  status(): OffloadStatus {
    return {
      kernel: this.opts.kernel,
      requested: this.opts.variant === undefined ? this.opts.backend : `${this.opts.backend}/${this.opts.variant}`,
      backend: this.label,
      device: this.device,
      software: this.software,
      fallbackReason: this.fallbackReason,
      batches: this.batches,
      items: this.items,
      deltas: this.deltas,
      maxInFlight: this.maxInFlight,
    };
  }

  /** Read handlers an offloading element can merge into its own. */
  handlers(): HandlerTable {
    return {
      backend: { read: () => this.label, doc: 'backend the kernel runs on now' },
      backend_requested: { read: () => this.status().requested, doc: 'backend asked for in the configuration' },
      backend_device: { read: () => `${this.device}${this.software ? ' [software]' : ''}`, doc: 'device the kernel runs on' },
      backend_fallback: { read: () => this.fallbackReason ?? '', doc: 'why the kernel fell back to cpu (empty when it did not)' },
    };
  }

  /** Fields for the run summary. */
  summary(): Record<string, number | string> {
    const s = this.status();
    const out: Record<string, number | string> = { backend: s.backend, backend_requested: s.requested, kernel_batches: s.batches, kernel_items: s.items };
    if (s.fallbackReason !== null) out.backend_fallback = s.fallbackReason;
    return out;
  }

  /** Wait for everything started, then release the structures. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight, this.barrier]);
    for (const s of this.structures) await this.backend.releaseStructure(s.handle).catch(() => undefined);
    this.structures.length = 0;
  }
}

/**
 * The runner for an offloadable element: its BACKEND setting, else `hetbox run --backend`,
 * else null — the element then calls the cpu backend's form function itself (the very function
 * the cpu form runs, e.g. `ipLookupCpu`), with no runner in between, and records its stats.
 */
export async function openElementOffload(
  owner: { name: string; env: RuntimeEnv },
  kernel: string,
  requested: BackendName | undefined,
  maxInFlight: number,
  stats?: KernelStats,
): Promise<OffloadRunner | null> {
  const backend = requested ?? owner.env.defaultBackend ?? 'cpu';
  if (backend === 'cpu' && requested === undefined) return null;
  return OffloadRunner.open({ kernel, backend, owner: owner.name, env: owner.env, maxInFlight, ...(stats === undefined ? {} : { stats }) });
}
