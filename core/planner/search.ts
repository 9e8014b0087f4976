/**
 * Finding the best placement for an objective (throughput or latency), with an optional
 * latency bound: exact enumeration of every combination while the problem is small enough,
 * a local search beyond that; the result says which, and why.
 *
 * Ordering of two placements: one that meets the constraints beats one that does not; then the
 * objective; then the other figure; then fewer offloaded elements (a tie is not worth moving a
 * structure to a device for); then the earlier candidates (cpu is listed first).
 *
 * Splits (one element's batches shared between two backends) come after the search over single
 * placements: for each element with two usable candidates or more, every pair at every share in
 * steps of 1% with the rest of the placement fixed; the best move that beats the placement so
 * far by SPLIT_MIN_GAIN is taken (and added to the element's candidates), until none does. So a
 * split is chosen only when it beats every single placement the search found, and clearly: a
 * device whose launch cost dominates small batches would still add its few batches' worth in
 * parallel, a gain the model is not precise enough to promise and not worth a second resident
 * copy of the structures. Such batches stay on the CPU (NBA's adaptive batching).
 */
import { elementCost, predict, type ModelOptions, type Placement, type Prediction } from './cost-model.js';
import { CPU, offloads, splitCandidate, type Candidate, type PlacementProblem, type PlannerElement } from './placement-problem.js';

export type Objective = 'throughput' | 'latency';

export interface SearchOptions extends ModelOptions {
  objective: Objective;
  /** Consider split placements (default true). */
  splits?: boolean;
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
  /** Split placements chosen after the search (element names), with the reason. */
  splitReason?: string;
}

/** Split shares tried: 1% steps. */
const SPLIT_STEPS = 100;
/** A split must predict this much better (throughput, or latency for that objective) than the placement it replaces, unless it meets constraints that one misses. */
export const SPLIT_MIN_GAIN = 0.05;

/** Whether `a` (with a split) beats `b` by the split's minimum gain. */
function clearlyBetter(a: Evaluated, b: Evaluated, objective: Objective): boolean {
  if (a.violations.length === 0 && b.violations.length > 0) return true;
  if (a.violations.length > 0 && b.violations.length === 0) return false;
  if (objective === 'throughput') return a.prediction.throughputPps >= (1 + SPLIT_MIN_GAIN) * b.prediction.throughputPps;
  return a.prediction.latencyNs * (1 + SPLIT_MIN_GAIN) <= b.prediction.latencyNs;
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
    if (offloads(problem.elements[i].candidates[c])) n++;
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
    const i = e.candidates.findIndex((c) => c.backend === CPU && c.variant === undefined && c.split === undefined && c.status === 'ok');
    // buildPlacementProblem guarantees a usable candidate; a CPU that cannot hold it is not one.
    return i >= 0 ? i : e.candidates.findIndex((c) => c.status === 'ok');
  });
}

/**
 * The element's own cost on a candidate if it had the resources to itself: on the CPU its whole
 * time; on a device the slower of compute and transfer (the two overlap across batches).
 */
export function ownNs(e: PlannerElement, c: Candidate, batch: number): number {
  // A split's parts work in parallel, each on its share of the batches.
  if (c.split !== undefined) return Math.max(...c.split.parts.map((p, k) => c.split!.weights[k] * ownNs(e, p, batch)));
  const cost = elementCost(e, c, batch);
  return c.backend === CPU ? cost.totalNs : Math.max(cost.computeNs, cost.transferNs, cost.hostSideNs);
}

/** Each element on its own cheapest usable candidate (Lemur's greedy: ignores shared stages). */
export function greedyPlacement(problem: PlacementProblem, opts: ModelOptions, acceleratorsOnly = false): Placement {
  return problem.elements.map((e, i) => {
    let best = -1;
    let bestNs = Infinity;
    e.candidates.forEach((c, ci) => {
      if (c.status !== 'ok' || (acceleratorsOnly && !offloads(c))) return;
      // The simple placements are single ones; a split is there only when pinned.
      if (c.split !== undefined && e.pin === undefined) return;
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
  const single = searchSingle(problem, opts);
  if (opts.splits === false) return single;
  return refineWithSplits(problem, single, opts);
}

/**
 * Try splitting each element between two of its usable single candidates (the accelerator part
 * named first), every share in 1% steps, the rest of the placement fixed; take the best move that
 * beats the placement so far, repeat until none does. The chosen split is appended to the
 * element's candidates, so the placement (an index per element) can name it.
 */
function refineWithSplits(problem: PlacementProblem, start: SearchResult, opts: SearchOptions): SearchResult {
  let best = start.best;
  let evaluated = start.evaluated;
  const chosen: string[] = [];
  const better = (a: Evaluated, b: Evaluated): boolean => compareEvaluated(problem, a, b, opts.objective) < 0;
  for (let round = 0; round < problem.elements.length; round++) {
    let move: { element: number; candidate: Candidate; evaluated: Evaluated } | null = null;
    problem.elements.forEach((e, i) => {
      // An element that cannot carry out a split (not SplitPlaceable) is never offered one.
      if (e.pin !== undefined || e.host !== undefined || e.splittable === false) return;
      const usable = e.candidates.filter((c) => c.status === 'ok' && c.split === undefined);
      for (let a = 0; a < usable.length; a++) {
        for (let b = a + 1; b < usable.length; b++) {
          // The part off the CPU first, as PLACE is written (`webgpu:0.7,cpu`).
          const [x, y] = offloads(usable[a]) || !offloads(usable[b]) ? [usable[a], usable[b]] : [usable[b], usable[a]];
          for (let k = 1; k < SPLIT_STEPS; k++) {
            const candidate = splitCandidate(x, y, k / SPLIT_STEPS);
            e.candidates.push(candidate);
            const ev = evaluate(problem, best.placement.map((c, j) => (j === i ? e.candidates.length - 1 : c)), opts);
            e.candidates.pop();
            evaluated++;
            if (clearlyBetter(ev, best, opts.objective) && (move === null || better(ev, move.evaluated))) move = { element: i, candidate, evaluated: ev };
          }
        }
      }
    });
    if (move === null) break;
    const m: { element: number; candidate: Candidate; evaluated: Evaluated } = move;
    const e = problem.elements[m.element];
    // A split chosen for this element before is replaced, not kept beside the new one.
    const old = e.candidates.findIndex((c) => c.split !== undefined);
    if (old >= 0) e.candidates.splice(old, 1);
    e.candidates.push(m.candidate);
    best = { ...m.evaluated, placement: m.evaluated.placement.map((c, j) => (j === m.element ? e.candidates.length - 1 : c)) };
    chosen.push(`${e.name} ${m.candidate.label}`);
  }
  if (chosen.length === 0) return { ...start, evaluated };
  return { ...start, best, evaluated, splitReason: `split placements beat every single placement found: ${[...new Set(chosen)].join('; ')}` };
}

function searchSingle(problem: PlacementProblem, opts: SearchOptions): SearchResult {
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
