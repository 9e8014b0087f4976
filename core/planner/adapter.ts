/**
 * The placement adapter (`hetbox run --adapt`): compares what each kernel element measurably
 * costs where it runs with what the model predicted, and re-plans when they disagree for long
 * enough, or when a backend fails. It only decides; the run carries a decision out (live
 * migration) and reports back.
 *
 * Hysteresis, so a noisy or oscillating measurement never makes placements flap:
 *   - a sample disagrees when measured/predicted (or its inverse) exceeds 1 + `threshold`;
 *   - an element triggers a re-plan only after `dwell` consecutive disagreeing samples, in the
 *     same direction (slower, or faster); one agreeing sample, or one the other way, resets it;
 *   - the re-plan corrects the element's profile on that backend by the measured ratio (the
 *     median of the streak), so the model agrees with the measurement from then on and the same
 *     evidence cannot trigger again.
 * A backend that failed (the element's runner fell back to cpu, the fallback path's reason) is
 * marked unavailable and re-planned at once: that is no noise.
 *
 * Splits (NBA-style load balancing, by the model): an element placed as a split is sampled per
 * part, and each part is held to its own prediction with its own streak. A part that disagrees
 * for the dwell has its profile corrected and the placement re-planned, which moves the split's
 * shares to where the corrected parts balance (or to a single placement, or to a split when the
 * corrected profiles make one win by SPLIT_MIN_GAIN): one move per dwell at most, since every
 * decision clears every streak.
 *
 * Everything is driven by the samples handed to `observe` (no clocks), so tests inject them.
 */
import type { CostProfile } from './cost-profile.js';
import { elementCost } from './cost-model.js';
import { buildPlacementProblem, CPU, type BackendOption, type PlacementProblem, type ProblemInputs } from './placement-problem.js';
import { searchPlacement, formatNs, type SearchOptions } from './search.js';
import type { Placement } from './cost-model.js';

export interface AdaptOptions {
  /** Relative disagreement that counts (0.5: measured 1.5x the prediction, or 1/1.5 of it). */
  threshold: number;
  /** Consecutive disagreeing samples before a re-plan. */
  dwell: number;
}

export const DEFAULT_ADAPT: AdaptOptions = { threshold: 0.5, dwell: 3 };

/** What a kernel did since the previous sample on one location. */
export interface LocationSample {
  /** Candidate label where it ran (`cpu`, `webgpu`, `gpujs/cpu`, ...). */
  location: string;
  batches: number;
  items: number;
  /** Time its kernel took over those batches, ns (device figures where the backend reports them). */
  ns: number;
}

/** What one element did since the previous sample, where it runs now. */
export interface ElementSample extends LocationSample {
  element: string;
  /** For a split (`location` is then its label, `webgpu:0.7,cpu:0.3`): what each part did; the totals are their sums. */
  parts?: LocationSample[];
  /** The backend it was placed on failed and it runs on cpu instead: why. */
  fallback?: { backend: string; reason: string };
}

export interface PlacementDecision {
  /** 1, 2, ... in order. */
  seq: number;
  /** Which sample round (1-based) it was made at. */
  round: number;
  reason: string;
  from: Record<string, string>;
  to: Record<string, string>;
  /** Elements whose location changes (to carry out). */
  moves: { element: string; from: string; to: string }[];
  /** Filled in by whoever carries the decision out: done, rolled back, not possible (and why). */
  outcome?: string;
}

/** Builds the problem with the adapter's corrections: profiles measured here, backends that failed. */
export type ProblemSource = (corrections: readonly CostProfile[], failed: ReadonlyMap<string, string>) => PlacementProblem;

interface Streak {
  direction: 1 | -1;
  ratios: number[];
}

export class PlacementAdapter {
  private readonly corrections = new Map<string, CostProfile>();
  private readonly failed = new Map<string, string>();
  private readonly streaks = new Map<string, Streak>();
  private readonly decisions: PlacementDecision[] = [];
  private problem: PlacementProblem;
  private round = 0;
  /** Where each element runs now, by label (the configured placement, then each decision's). */
  private current: Record<string, string>;

  constructor(
    private readonly source: ProblemSource,
    private readonly search: SearchOptions,
    private readonly opts: AdaptOptions = DEFAULT_ADAPT,
    initial: Record<string, string>,
  ) {
    if (!(opts.threshold > 0) || !Number.isInteger(opts.dwell) || opts.dwell < 1) throw new Error(`adapt: threshold must be > 0 and dwell a positive integer (got ${opts.threshold}, ${opts.dwell})`);
    this.problem = source([], this.failed);
    this.current = { ...initial };
  }

  /** The model's time for `element`'s kernel on `label` at `itemsPerBatch`, ns per batch; undefined when it has no such candidate. */
  predictedNs(element: string, label: string, itemsPerBatch: number): number | undefined {
    const e = this.problem.elements.find((x) => x.name === element);
    const c = e?.candidates.find((x) => x.label === label && x.split === undefined && x.status === 'ok');
    if (e === undefined || c === undefined) return undefined;
    // The element's own batch (not a source batch): share 1 at this batch size.
    const cost = elementCost({ ...e, share: 1 }, c, itemsPerBatch);
    return cost.totalNs;
  }

  /** Feed one round of samples; returns the decision it led to, if any. */
  observe(samples: readonly ElementSample[]): PlacementDecision | null {
    this.round++;
    for (const s of samples) {
      this.current[s.element] = s.location;
      if (s.fallback !== undefined && !this.failed.has(s.fallback.backend)) {
        this.failed.set(s.fallback.backend, s.fallback.reason);
        this.streaks.clear();
        return this.replan(`${s.element}: backend ${s.fallback.backend} failed (${s.fallback.reason}); it runs on ${s.location}`);
      }
    }
    for (const s of samples) {
      // A split is held to its prediction part by part (each part's own batches and time).
      for (const m of s.parts ?? [s]) {
        const key = s.parts === undefined ? s.element : `${s.element} ${m.location}`;
        const where = s.parts === undefined ? s.location : `${m.location} (part of ${s.location})`;
        if (m.batches === 0 || m.items === 0) continue;
        const per = m.items / m.batches;
        const predicted = this.predictedNs(s.element, m.location, per);
        if (predicted === undefined || predicted <= 0) continue;
        const measured = m.ns / m.batches;
        const ratio = measured / predicted;
        const off = Math.max(ratio, 1 / ratio) > 1 + this.opts.threshold;
        const direction: 1 | -1 = ratio > 1 ? 1 : -1;
        const streak = this.streaks.get(key);
        if (!off) {
          this.streaks.delete(key);
          continue;
        }
        if (streak === undefined || streak.direction !== direction) {
          this.streaks.set(key, { direction, ratios: [ratio] });
        } else streak.ratios.push(ratio);
        const now = this.streaks.get(key)!;
        if (now.ratios.length >= this.opts.dwell) {
          const r = median(now.ratios);
          this.correct(s.element, m.location, r);
          this.streaks.clear();
          return this.replan(
            `${s.element} on ${where}: measured ${formatNs(measured)} a batch of ${per.toFixed(0)} against ${formatNs(predicted)} predicted (x${r.toFixed(2)} for ${now.ratios.length} samples, threshold ±${(this.opts.threshold * 100).toFixed(0)}%)`,
          );
        }
      }
    }
    return null;
  }

  /** Scale the element's profiles on `label` by `ratio` (a measured correction, kept for later re-plans). */
  private correct(element: string, label: string, ratio: number): void {
    const e = this.problem.elements.find((x) => x.name === element);
    const c = e?.candidates.find((x) => x.label === label && x.split === undefined);
    if (c === undefined) return;
    for (const p of c.profiles) {
      this.corrections.set(`${p.kernel}@${label}`, {
        ...p,
        perItemNs: p.perItemNs * ratio,
        perBatchNs: p.perBatchNs * ratio,
        perByteTransferNs: p.perByteTransferNs * ratio,
        source: 'measured',
      });
    }
  }

  private replan(reason: string): PlacementDecision {
    this.problem = this.source([...this.corrections.values()], this.failed);
    const best = searchPlacement(this.problem, this.search).best;
    const to = record(this.problem, best.placement);
    const moves = Object.keys(to)
      .filter((name) => this.current[name] !== undefined && this.current[name] !== to[name])
      .map((name) => ({ element: name, from: this.current[name], to: to[name] }));
    const d: PlacementDecision = { seq: this.decisions.length + 1, round: this.round, reason, from: { ...this.current }, to, moves };
    this.decisions.push(d);
    return d;
  }

  /** The run says where elements are after carrying a decision out (what moved, what did not). */
  settle(decision: PlacementDecision, outcome: string, locations: Record<string, string>): void {
    decision.outcome = outcome;
    Object.assign(this.current, locations);
  }

  history(): readonly PlacementDecision[] {
    return this.decisions;
  }

  /** The `placements` handler: one line per decision. */
  text(): string {
    return this.decisions
      .map((d) => {
        const moves = d.moves.length === 0 ? 'no move' : d.moves.map((m) => `${m.element} ${m.from} -> ${m.to}`).join(', ');
        return `#${d.seq} round ${d.round}: ${moves}${d.outcome === undefined ? '' : ` [${d.outcome}]`}; because ${d.reason}\n`;
      })
      .join('');
  }
}

function record(problem: PlacementProblem, p: Placement): Record<string, string> {
  const out: Record<string, string> = {};
  problem.elements.forEach((e, i) => {
    // Host elements run on the CPU whatever happens: the placement is about kernels.
    if (e.host === undefined) out[e.name] = e.candidates[p[i]].label;
  });
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The usual problem source: the graph over `backends`, with corrections put in the book ahead of
 * everything else (they are measurements of this run) and failed backends unavailable.
 */
export function problemSource(inputs: ProblemInputs): ProblemSource {
  return (corrections, failed) => {
    for (const p of corrections) inputs.book.set(p);
    const backends: BackendOption[] = inputs.backends.map((b) => {
      const why = failed.get(b.backend);
      return why === undefined || b.backend === CPU ? b : { ...b, availability: { available: false, reason: `failed during the run: ${why}` } };
    });
    return buildPlacementProblem({ ...inputs, backends });
  };
}
