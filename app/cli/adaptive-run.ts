/**
 * `hetbox run --adapt`: every N batches, what each kernel element measurably cost where it runs
 * (its `kernel_stats` since the last look: device figures where the backend reports them, else
 * host time) and whether its backend fell back (`backend_fallback`) go to the placement adapter
 * (core/planner/adapter.ts); a decision is carried out by live migration (core/migration's
 * migrateElement), one move at a time, and logged with its reason and outcome; a split (the
 * planner's choice, or new shares) is carried out the same way. The `placements` handler (top
 * level, read-only) lists every decision.
 *
 * Samples are taken from the scheduler's progress callback and one at a time: a sample is not
 * taken while the previous one, or its migration, is still going.
 */
import type { Router } from '../../core/router.js';
import type { SchedulerStats } from '../../core/scheduler.js';
import { migrateElement } from '../../core/migration/migrate-element.js';
import { PlacementAdapter, problemSource, type AdaptOptions, type ElementSample, type PlacementDecision } from '../../core/planner/adapter.js';
import type { CostBook } from '../../core/planner/cost-profile.js';
import type { BackendOption } from '../../core/planner/placement-problem.js';
import type { SearchOptions } from '../../core/planner/search.js';

export interface AdaptiveRunOptions {
  /** Batches between two samples. */
  every: number;
  adapt: AdaptOptions;
  search: SearchOptions;
  backends: readonly BackendOption[];
  book: CostBook;
}

/** One `kernel_stats` line: `KERNEL BACKEND batches N items N host_ms X [figure sum ...]`. */
interface StatsLine {
  key: string;
  backend: string;
  batches: number;
  items: number;
  ns: number;
}

export function parseKernelStats(text: string): StatsLine[] {
  const out: StatsLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) batches (\d+) items (\d+) host_ms (\S+)(.*)$/.exec(line.trim());
    if (m === null) continue;
    const figures = new Map<string, number>();
    const rest = m[6].trim().split(/\s+/).filter((w) => w !== '');
    for (let i = 0; i + 1 < rest.length; i += 2) figures.set(rest[i], Number(rest[i + 1]));
    // The device's own time where the backend reports one (the null backend's simulated time), else what the host waited.
    const ns = figures.get('simulatedNs') ?? figures.get('gpuNs') ?? Number(m[5]) * 1e6;
    out.push({ key: `${m[1]} ${m[2]}`, backend: m[2], batches: Number(m[3]), items: Number(m[4]), ns });
  }
  return out;
}

export class AdaptiveRun {
  readonly adapter: PlacementAdapter;
  private readonly kernelElements: string[];
  private readonly previous = new Map<string, StatsLine>();
  private lastSample = 0;
  private busy: Promise<void> | null = null;

  private constructor(
    private readonly router: Router,
    private readonly opts: AdaptiveRunOptions,
    initial: Record<string, string>,
  ) {
    this.kernelElements = Object.keys(initial);
    const source = problemSource({ graph: router.graph, backends: opts.backends, book: opts.book });
    this.adapter = new PlacementAdapter(source, opts.search, opts.adapt, initial);
    router.addHandlers({ placements: { read: () => this.adapter.text(), doc: 'run --adapt: each re-placement, its reason and outcome' } });
  }

  /** After `router.initialize()`: where each kernel element runs now is the starting placement. */
  static async start(router: Router, opts: AdaptiveRunOptions): Promise<AdaptiveRun> {
    const initial: Record<string, string> = {};
    for (const node of router.graph.nodes) {
      if ((node.cls.declares?.kernels.length ?? 0) === 0) continue;
      initial[node.parsed.name] = await location(router, node.parsed.name);
    }
    const run = new AdaptiveRun(router, opts, initial);
    router.env.log.info(`adapt: starting placement ${Object.entries(initial).map(([k, v]) => `${k}=${v}`).join(' ') || '(no kernel elements)'}; sampling every ${opts.every} batches, threshold ±${(opts.adapt.threshold * 100).toFixed(0)}%, dwell ${opts.adapt.dwell}`);
    return run;
  }

  /** The scheduler's onBatchDone. */
  progress(stats: SchedulerStats): void {
    if (this.busy !== null || stats.batches - this.lastSample < this.opts.every) return;
    this.lastSample = stats.batches;
    const step = this.step().catch((e: unknown) => this.router.env.log.warn(`adapt: ${e instanceof Error ? e.message : String(e)}`));
    this.busy = step.finally(() => {
      this.busy = null;
    });
  }

  /** Wait for the sample (and migration) in progress. */
  async settled(): Promise<void> {
    while (this.busy !== null) await this.busy;
  }

  private async step(): Promise<void> {
    const samples: ElementSample[] = [];
    for (const name of this.kernelElements) samples.push(await this.sample(name));
    const d = this.adapter.observe(samples);
    if (d === null) return;
    await this.carryOut(d);
  }

  private async sample(name: string): Promise<ElementSample> {
    const where = await location(this.router, name);
    // A split's parts are sampled one by one (each runs on its own backend, its own kernel_stats line).
    const labels = where.split(',').map((part) => part.replace(/:[0-9.e-]+$/, ''));
    const parts = labels.map((label) => ({ location: label, batches: 0, items: 0, ns: 0 }));
    for (const l of parseKernelStats(await read(this.router, `${name}.kernel_stats`))) {
      const key = `${name} ${l.key}`;
      const before = this.previous.get(key);
      this.previous.set(key, l);
      const part = parts.find((p) => p.location === l.backend);
      if (part === undefined) continue;
      part.batches += l.batches - (before?.batches ?? 0);
      part.items += l.items - (before?.items ?? 0);
      part.ns += l.ns - (before?.ns ?? 0);
    }
    const batches = parts.reduce((s, p) => s + p.batches, 0);
    const items = parts.reduce((s, p) => s + p.items, 0);
    const ns = parts.reduce((s, p) => s + p.ns, 0);
    if (parts.length > 1) {
      // A part that fell back says so in `location`: `split cpu:0.5,cpu:0.5 (fallback: null part: why)`.
      const fell = /\(fallback: (\S+) part: (.*?)(?:; \S+ part: .*)?\)$/.exec((await read(this.router, `${name}.location`)).trim());
      const fallback = fell === null ? {} : { fallback: { backend: fell[1].split('/')[0], reason: fell[2] } };
      return { element: name, location: where, batches, items, ns, parts, ...fallback };
    }
    const fallback = (await read(this.router, `${name}.backend_fallback`)).trim();
    const requested = (await read(this.router, `${name}.backend_requested`)).trim();
    // A runner that fell back runs on cpu (its reason is set a moment before its label changes).
    if (fallback !== '' && requested !== '') return { element: name, location: 'cpu', batches: 0, items: 0, ns: 0, fallback: { backend: requested, reason: fallback } };
    return { element: name, location: where, batches, items, ns };
  }

  private async carryOut(d: PlacementDecision): Promise<void> {
    const log = this.router.env.log;
    log.info(`adapt: #${d.seq} ${d.moves.length === 0 ? 'no move' : d.moves.map((m) => `${m.element} ${m.from} -> ${m.to}`).join(', ')}; because ${d.reason}`);
    const outcomes: string[] = [];
    const now: Record<string, string> = {};
    for (const m of d.moves) {
      try {
        const rec = await migrateElement(this.router, m.element, m.to);
        outcomes.push(`${m.element}: ${rec.status === 'done' ? 'done' : `rolled back: ${rec.reason ?? ''}`}`);
      } catch (e) {
        outcomes.push(`${m.element}: refused: ${e instanceof Error ? e.message : String(e)}`);
      }
      now[m.element] = await location(this.router, m.element);
    }
    const outcome = d.moves.length === 0 ? 'nothing to move' : outcomes.join('; ');
    this.adapter.settle(d, outcome, now);
    log.info(`adapt: #${d.seq} ${outcome}`);
  }
}

async function read(router: Router, handler: string): Promise<string> {
  try {
    return await router.handler(handler).read!();
  } catch {
    // An element without that handler (no runner: no fallback to report).
    return '';
  }
}

/**
 * Where an element's kernel runs now: its `backend` handler (the runner's own word, so a
 * fallback to cpu shows), else `location`, else cpu; a split's label (`split null:0.6,cpu:0.4`).
 */
async function location(router: Router, name: string): Promise<string> {
  const text = (await read(router, `${name}.backend`)).trim() || (await read(router, `${name}.location`)).trim();
  if (text === '' || text === 'cpu (inline)') return 'cpu';
  const words = text.split(/\s/);
  return words[0] === 'split' && words[1] !== undefined ? words[1] : words[0];
}
