/**
 * Finding the best placement for an objective (throughput or latency), with an optional
 * latency bound: exact enumeration of every combination while the problem is small enough,
 * a local search beyond that; the result says which, and why.
 *
 * Ordering of two placements: one that meets the constraints beats one that does not; then the
 * objective; then the other figure; then fewer offloaded elements (a tie is not worth moving a
 * structure to a device for); then the earlier candidates (cpu is listed first).
 */
import { elementCost, predict, type ModelOptions, type Placement, type Prediction } from './cost-model.js';
import { CPU, type Candidate, type PlacementProblem, type PlannerElement } from './placement-problem.js';

export type Objective = 'throughput' | 'latency';

export interface SearchOptions extends ModelOptions {
  objective: Objective;
  /** Latency bound, ns: a placement over it does not meet the constraints. */
  latencyBoundNs?: number;
}

export interface Evaluated {
  placement: Placement;
  prediction: Prediction;
  /** Constraints it misses (empty: meets them all). */
  violations: string[];
}

/** Exact enumeration up to this many offloadable elements (issue 11)... */
export const MAX_EXACT_ELEMENTS = 12;
/** ...and this many combinations, so a wide choice of backends cannot stall `hetbox plan`. */
export const MAX_EXACT_COMBINATIONS = 1 << 20;

export interface SearchResult {
  best: Evaluated;
  method: 'exact' | 'heuristic';
  methodReason: string;
  /** Placements evaluated. */
  evaluated: number;
  /** Elements with more than one usable candidate. */
  offloadable: number;
}

/** Relative tolerance under which two predicted figures count as equal. */
const TIE = 1e-9;

export function evaluate(problem: PlacementProblem, placement: Placement, opts: SearchOptions): Evaluated {
  const prediction = predict(problem, placement, opts);
  const violations: string[] = [];
  if (!prediction.keepsUp && opts.ratePps !== undefined) {
    violations.push(`predicted ${formatRate(prediction.throughputPps)} is below the expected rate ${formatRate(opts.ratePps)}`);
  }
  if (opts.latencyBoundNs !== undefined && prediction.latencyNs > opts.latencyBoundNs) {
    violations.push(`latency ${formatNs(prediction.latencyNs)} is over the bound ${formatNs(opts.latencyBoundNs)}`);
  }
  return { placement, prediction, violations };
}

function cmpFigure(a: number, b: number, higherIsBetter: boolean): number {
  if (a === b) return 0;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  if (Number.isFinite(scale) && Math.abs(a - b) <= TIE * scale) return 0;
  return higherIsBetter ? (a > b ? -1 : 1) : a < b ? -1 : 1;
}

function offloaded(problem: PlacementProblem, p: Placement): number {
  let n = 0;
  p.forEach((c, i) => {
    if (problem.elements[i].candidates[c].backend !== CPU) n++;
  });
  return n;
}

/** Negative when `a` is the better placement, positive when `b` is, 0 when they are the same. */
export function compareEvaluated(problem: PlacementProblem, a: Evaluated, b: Evaluated, objective: Objective): number {
  const feasible = (a.violations.length === 0 ? 0 : 1) - (b.violations.length === 0 ? 0 : 1);
  if (feasible !== 0) return feasible;
  const tp = cmpFigure(a.prediction.throughputPps, b.prediction.throughputPps, true);
  const lat = cmpFigure(a.prediction.latencyNs, b.prediction.latencyNs, false);
  const first = objective === 'throughput' ? tp : lat;
  if (first !== 0) return first;
  const second = objective === 'throughput' ? lat : tp;
  if (second !== 0) return second;
  const off = offloaded(problem, a.placement) - offloaded(problem, b.placement);
  if (off !== 0) return off;
  for (let i = 0; i < a.placement.length; i++) if (a.placement[i] !== b.placement[i]) return a.placement[i] - b.placement[i];
  return 0;
}

/** Usable candidate indices per element. */
function choicesOf(problem: PlacementProblem): number[][] {
  return problem.elements.map((e) => e.candidates.flatMap((c, i) => (c.status === 'ok' ? [i] : [])));
}

/** Every element on the CPU (the candidates of a kernel element always include cpu). */
export function allCpuPlacement(problem: PlacementProblem): Placement {
  return problem.elements.map((e) => {
    const i = e.candidates.findIndex((c) => c.backend === CPU && c.status === 'ok');
    // buildPlacementProblem guarantees a usable candidate; a CPU that cannot hold it is not one.
    return i >= 0 ? i : e.candidates.findIndex((c) => c.status === 'ok');
  });
}

/**
 * The element's own cost on a candidate if it had the resources to itself: on the CPU its whole
 * time; on a device the slower of compute and transfer (the two overlap across batches).
 */
export function ownNs(e: PlannerElement, c: Candidate, batch: number): number {
  const cost = elementCost(e, c, batch);
  return c.backend === CPU ? cost.totalNs : Math.max(cost.computeNs, cost.transferNs);
}

/** Each element on its own cheapest usable candidate (Lemur's greedy: ignores shared stages). */
export function greedyPlacement(problem: PlacementProblem, opts: ModelOptions, acceleratorsOnly = false): Placement {
  return problem.elements.map((e, i) => {
    let best = -1;
    let bestNs = Infinity;
    e.candidates.forEach((c, ci) => {
      if (c.status !== 'ok' || (acceleratorsOnly && c.backend === CPU)) return;
      const ns = ownNs(e, c, opts.batch);
      if (ns < bestNs) {
        bestNs = ns;
        best = ci;
      }
    });
    return best >= 0 ? best : allCpuPlacement(problem)[i];
  });
}

/** Every offloadable element on its best accelerator; those with none stay on the CPU. */
export function allAcceleratorPlacement(problem: PlacementProblem, opts: ModelOptions): Placement {
  return greedyPlacement(problem, opts, true);
}

export function searchPlacement(problem: PlacementProblem, opts: SearchOptions): SearchResult {
  const choices = choicesOf(problem);
  const open = choices.flatMap((c, i) => (c.length > 1 ? [i] : []));
  const combinations = open.reduce((n, i) => n * choices[i].length, 1);
  const better = (a: Evaluated, b: Evaluated): boolean => compareEvaluated(problem, a, b, opts.objective) < 0;
  if (open.length <= MAX_EXACT_ELEMENTS && combinations <= MAX_EXACT_COMBINATIONS) {
    const current = choices.map((c) => c[0]);
    let best: Evaluated | null = null;
    let evaluated = 0;
    // An odometer over the open elements' choices: every combination once.
    const digits = new Array<number>(open.length).fill(0);
    for (;;) {
      const e = evaluate(problem, current.slice(), opts);
      evaluated++;
      if (best === null || better(e, best)) best = e;
      let d = 0;
      while (d < open.length) {
        const el = open[d];
        digits[d]++;
        if (digits[d] < choices[el].length) {
          current[el] = choices[el][digits[d]];
          break;
        }
        digits[d] = 0;
        current[el] = choices[el][0];
        d++;
      }
      if (d === open.length) break;
    }
    return {
      best: best!,
      method: 'exact',
      methodReason: `all ${combinations} placement(s) of ${open.length} offloadable element(s) evaluated`,
      evaluated,
      offloadable: open.length,
    };
  }
  // Local search: start from the best of the simple placements; take the best single move
  // (one element to another candidate) while one improves; each round strictly improves, so
  // it ends.
  let evaluated = 0;
  const starts = [allCpuPlacement(problem), greedyPlacement(problem, opts), allAcceleratorPlacement(problem, opts)].map((p) => {
    evaluated++;
    return evaluate(problem, p, opts);
  });
  let best = starts.reduce((a, b) => (better(b, a) ? b : a));
  for (;;) {
    let move: Evaluated | null = null;
    for (const i of open) {
      for (const c of choices[i]) {
        if (c === best.placement[i]) continue;
        const e = evaluate(problem, best.placement.map((x, j) => (j === i ? c : x)), opts);
        evaluated++;
        if (better(e, move ?? best)) move = e;
      }
    }
    if (move === null) break;
    best = move;
  }
  const why = open.length > MAX_EXACT_ELEMENTS ? `${open.length} offloadable elements (exact up to ${MAX_EXACT_ELEMENTS})` : `${combinations} combinations (exact up to ${MAX_EXACT_COMBINATIONS})`;
  return {
    best,
    method: 'heuristic',
    methodReason: `${why}: local search from the all-CPU, greedy and all-accelerator placements, best single move until none improves; may miss the optimum`,
    evaluated,
    offloadable: open.length,
  };
}

export function formatRate(pps: number): string {
  if (!Number.isFinite(pps)) return 'unbounded';
  if (pps >= 1e9) return `${(pps / 1e9).toFixed(2)} Gpps`;
  if (pps >= 1e6) return `${(pps / 1e6).toFixed(2)} Mpps`;
  if (pps >= 1e3) return `${(pps / 1e3).toFixed(2)} kpps`;
  return `${pps.toFixed(1)} pps`;
}

export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'unbounded';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}
