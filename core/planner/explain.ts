/**
 * The explanation of a plan: per element every candidate with its predicted cost, the choice,
 * and why each other candidate lost (the whole placement predicted with the element moved
 * there: slower by how much; or does not fit by how much; or unavailable and why), and the
 * chosen placement against the all-CPU, all-accelerator and greedy ones. One object for
 * `--json`, one text rendering of it for people.
 */
import { crossoverBatch, elementCost, type Placement, type Prediction } from './cost-model.js';
import type { ProfileSource } from './cost-profile.js';
import { CPU, describePin, formatBytes, type CandidateStatus, type PlacementProblem } from './placement-problem.js';
import {
  allAcceleratorPlacement,
  allCpuPlacement,
  compareEvaluated,
  evaluate,
  formatNs,
  formatRate,
  greedyPlacement,
  ownNs,
  searchPlacement,
  SPLIT_MIN_GAIN,
  type Evaluated,
  type Objective,
  type SearchOptions,
  type SearchResult,
} from './search.js';

export interface CandidateReport {
  backend: string;
  status: CandidateStatus;
  chosen: boolean;
  /** Where the figures come from (costs file, measured, backend default...). */
  sources: ProfileSource[];
  /** A software device (or a split with one): its time is charged to the CPU stage. */
  sharesHostCpu: boolean;
  /** The element's own time per source batch here (compute, transfers), ns. */
  computeNs?: number;
  transferNs?: number;
  /** A kernel element's host side here (on the CPU thread wherever the kernels run), ns per source batch. */
  hostSideNs?: number;
  /** Where the host side figure comes from; `not calibrated` when none is known (charged 0). */
  hostSideSource?: ProfileSource | 'not calibrated';
  /** The element alone on this candidate: packets per second. */
  ownRatePps?: number;
  /** The whole placement with this element moved here (undefined for unusable candidates). */
  placementThroughputPps?: number;
  placementLatencyNs?: number;
  /** Why it was chosen, or why it lost. */
  why: string;
  /** A single device candidate: the smallest batch from which it beats the element's CPU form alone (absent: never, or not a device). */
  crossoverBatch?: number;
}

export interface ElementReport {
  name: string;
  className: string;
  kernels: readonly string[];
  structureBytes: number;
  /** Share of the source packets it sees. */
  share: number;
  backend: string;
  /** `pinned by PLACE at file:line:column` (or BACKEND) when the configuration fixes it. */
  pinned?: string;
  candidates: CandidateReport[];
}

export interface PlacementReport {
  name: string;
  placement: Record<string, string>;
  prediction: Prediction;
  violations: string[];
}

export interface PlanReport {
  objective: Objective;
  batch: number;
  ratePps?: number;
  latencyBoundNs?: number;
  method: SearchResult['method'];
  methodReason: string;
  evaluated: number;
  /** Where the elements' shares of the packets come from (the even split, or a measured run). */
  shareSource: PlacementProblem['shareSource'];
  /** Graph-composition factor on host-thread work (1: none measured). */
  hostFactor: number;
  /** Cores the host thread and software devices share (cost-model.ts). */
  hostCores: number;
  chosen: PlacementReport;
  /** All-CPU, all-accelerator and greedy placements, predicted the same way. */
  baselines: PlacementReport[];
  elements: ElementReport[];
}

function placementRecord(problem: PlacementProblem, p: Placement): Record<string, string> {
  const out: Record<string, string> = {};
  problem.elements.forEach((e, i) => {
    out[e.name] = e.candidates[p[i]].label;
  });
  return out;
}

function report(problem: PlacementProblem, name: string, e: Evaluated): PlacementReport {
  return { name, placement: placementRecord(problem, e.placement), prediction: e.prediction, violations: e.violations };
}

function pct(worse: number, better: number): string {
  if (!Number.isFinite(better) || !Number.isFinite(worse) || better === 0) return '';
  if (worse === better) return ' (same)';
  return ` (${((Math.abs(worse - better) / better) * 100).toFixed(1)}% ${worse < better ? 'lower' : 'higher'})`;
}

/** Why `moved` (the chosen placement with one element elsewhere) lost to `chosen`. */
function whyLost(problem: PlacementProblem, moved: Evaluated, chosen: Evaluated, opts: SearchOptions): string {
  if (moved.violations.length > 0 && chosen.violations.length === 0) return `misses the constraints: ${moved.violations.join('; ')}`;
  const a = moved.prediction;
  const b = chosen.prediction;
  const tp = `placement ${formatRate(a.throughputPps)} vs ${formatRate(b.throughputPps)}${pct(a.throughputPps, b.throughputPps)}, bottleneck ${a.bottleneck}`;
  const lat = `latency ${formatNs(a.latencyNs)} vs ${formatNs(b.latencyNs)}${pct(a.latencyNs, b.latencyNs)}`;
  if (a.throughputPps === b.throughputPps && a.latencyNs === b.latencyNs) {
    return compareEvaluated(problem, moved, chosen, opts.objective) > 0 ? 'ties on the prediction; the choice offloads less (or is listed first)' : 'ties on the prediction';
  }
  return opts.objective === 'throughput' ? `${tp}; ${lat}` : `${lat}; ${tp}`;
}

export function explainPlan(problem: PlacementProblem, opts: SearchOptions): PlanReport {
  const result = searchPlacement(problem, opts);
  const chosen = result.best;
  const elements: ElementReport[] = problem.elements.map((e, i) => {
    const candidates = e.candidates.map((c, ci): CandidateReport => {
      const isChosen = chosen.placement[i] === ci;
      const shares = c.sharesHostCpu === true || c.split?.parts.some((p) => p.sharesHostCpu === true) === true;
      const base = { backend: c.label, status: c.status, chosen: isChosen, sources: [...new Set(e.host ? [e.host.source] : c.profiles.map((p) => p.source))], sharesHostCpu: shares };
      if (c.status === 'unavailable') return { ...base, why: `unavailable: ${c.reason ?? 'no reason given'}` };
      if (c.status === 'no-form') return { ...base, why: `cannot run it: ${c.reason ?? 'no form'}` };
      const cost = elementCost(e, c, opts.batch);
      const own = ownNs(e, c, opts.batch);
      const cpu = e.candidates.find((x) => x.backend === CPU && x.variant === undefined && x.split === undefined);
      const cross = cpu !== undefined && c !== cpu && c.split === undefined ? crossoverBatch(e, cpu, c) : undefined;
      Object.assign(base, cross === undefined ? {} : { crossoverBatch: cross });
      const sideSource = (x: typeof c): ProfileSource | 'not calibrated' | undefined => (e.host !== undefined ? undefined : (x.hostSide?.source ?? 'not calibrated'));
      // A split is as known as its least known part.
      const sides = c.split === undefined ? [sideSource(c)] : c.split.parts.map(sideSource);
      const side = sides.includes('not calibrated') ? 'not calibrated' : sides[0];
      const figures = {
        computeNs: cost.computeNs,
        transferNs: cost.transferNs,
        ...(side === undefined ? {} : { hostSideNs: cost.hostSideNs, hostSideSource: side }),
        ownRatePps: own <= 0 ? Infinity : (e.share * opts.batch * 1e9) / own };
      if (c.status === 'no-fit') return { ...base, ...figures, why: `does not fit: ${c.reason ?? ''}` };
      const moved = isChosen ? chosen : evaluate(problem, chosen.placement.map((x, j) => (j === i ? ci : x)), opts);
      const placementFigures = { placementThroughputPps: moved.prediction.throughputPps, placementLatencyNs: moved.prediction.latencyNs };
      if (isChosen) {
        const only = e.candidates.filter((x) => x.status === 'ok').length === 1;
        const searched =
          c.split !== undefined
            ? `split: beats every single placement by ${(SPLIT_MIN_GAIN * 100).toFixed(0)}% or more for ${opts.objective} (the parts run in parallel, each on its share of the batches)`
            : `best for ${opts.objective} in the ${result.method} search`;
        const why =
          e.pin !== undefined
            ? `${describePin(e.pin)}${only ? '' : `; ${searched} among its variants`}`
            : e.host !== undefined
              ? 'host element (no kernels): runs on the CPU'
              : only
                ? 'the only usable candidate'
                : searched;
        return { ...base, ...figures, ...placementFigures, why };
      }
      return { ...base, ...figures, ...placementFigures, why: whyLost(problem, moved, chosen, opts) };
    });
    return {
      name: e.name,
      className: e.className,
      kernels: e.kernels,
      structureBytes: e.structureBytes,
      share: e.share,
      backend: e.candidates[chosen.placement[i]].label,
      ...(e.pin === undefined ? {} : { pinned: describePin(e.pin) }),
      candidates,
    };
  });
  const baselines = [
    report(problem, 'all-cpu', evaluate(problem, allCpuPlacement(problem), opts)),
    report(problem, 'all-accelerator', evaluate(problem, allAcceleratorPlacement(problem, opts), opts)),
    report(problem, 'greedy', evaluate(problem, greedyPlacement(problem, opts), opts)),
  ];
  return {
    objective: opts.objective,
    batch: opts.batch,
    ...(opts.ratePps === undefined ? {} : { ratePps: opts.ratePps }),
    ...(opts.latencyBoundNs === undefined ? {} : { latencyBoundNs: opts.latencyBoundNs }),
    method: result.method,
    methodReason: result.splitReason === undefined ? result.methodReason : `${result.methodReason}; ${result.splitReason}`,
    evaluated: result.evaluated,
    shareSource: problem.shareSource,
    hostFactor: problem.hostFactor,
    hostCores: problem.hostCores,
    chosen: report(problem, 'chosen', chosen),
    baselines,
    elements,
  };
}

function summaryLine(r: PlacementReport): string {
  const p = r.prediction;
  const extra = r.violations.length > 0 ? `  [misses: ${r.violations.join('; ')}]` : '';
  // A split's slow part the in-order merge cannot hide: the host thread's wait, inside the cpu stage.
  const stall = p.mergeStallNs > 0 ? `  (cpu stage includes a split merge stall of ${formatNs(p.mergeStallNs)}/batch)` : '';
  return `${formatRate(p.throughputPps).padStart(12)}  latency ${formatNs(p.latencyNs).padStart(10)}  bottleneck ${p.bottleneck}${stall}${extra}`;
}

/** A candidate's host side for the text: its time, or that it is not known (and charged 0). */
function hostSideText(c: CandidateReport): string {
  if (c.hostSideNs === undefined) return 'host side -';
  if (c.hostSideSource === 'not calibrated') return 'host side not calibrated';
  return `${formatNs(c.hostSideNs)} host side`;
}

/** The text `hetbox plan` prints. */
export function formatPlanReport(r: PlanReport, config: string): string {
  const lines: string[] = [];
  const constraints = [
    `objective ${r.objective}`,
    `batch ${r.batch}`,
    ...(r.ratePps === undefined ? [] : [`rate ${formatRate(r.ratePps)}`]),
    ...(r.latencyBoundNs === undefined ? [] : [`latency bound ${formatNs(r.latencyBoundNs)}`]),
  ];
  lines.push(`${config}: placement plan (${constraints.join(', ')})`);
  lines.push(`search: ${r.method} (${r.methodReason}; ${r.evaluated} evaluated)`);
  lines.push(
    r.shareSource === 'measured'
      ? 'packet shares: measured (a run of this configuration, hetbox calibrate --config)'
      : 'packet shares: even split over outputs (not measured; hetbox calibrate --config measures them)',
  );
  if (r.elements.some((e) => e.candidates.some((c) => c.sharesHostCpu))) {
    lines.push(`software devices share ${r.hostCores} core${r.hostCores === 1 ? '' : 's'} with the host thread: cpu stage = max(host thread, each software device, all of it / ${r.hostCores})`);
  }
  if (r.hostFactor !== 1) lines.push(`host-thread work x ${r.hostFactor.toFixed(2)} (graph composition: this configuration's all-CPU run measured over its parts timed alone)`);
  lines.push('');
  for (const e of r.elements) {
    const what = e.kernels.length === 0 ? 'host element' : `kernels ${e.kernels.join(', ')}${e.structureBytes > 0 ? `, structures ${formatBytes(e.structureBytes)}` : ''}`;
    lines.push(`${e.name} (${e.className}; ${what}; sees ${(e.share * 100).toFixed(0)}% of packets${r.shareSource === 'measured' ? ', measured' : ''}) -> ${e.backend}${e.pinned === undefined ? '' : ` (${e.pinned})`}`);
    if (e.kernels.length === 0) continue;
    for (const c of e.candidates) {
      const mark = c.chosen ? '*' : ' ';
      // The element's own figures: its time per source batch, transfers included, and the rate it could carry alone.
      const cost =
        c.computeNs === undefined
          ? ''.padEnd(80)
          : `${formatNs((c.computeNs ?? 0) + (c.transferNs ?? 0) + (c.hostSideNs ?? 0)).padStart(10)}/batch (${formatNs(c.transferNs ?? 0)} transfers, ${hostSideText(c)}) ${formatRate(c.ownRatePps ?? 0).padStart(12)} alone`.padEnd(80);
      const cross = c.crossoverBatch === undefined ? '' : ` (beats cpu alone from batch ${c.crossoverBatch})`;
      const soft = c.sharesHostCpu ? ' (software device: runs on the CPU cores, charged to the cpu stage)' : '';
      lines.push(`  ${mark} ${c.backend.padEnd(14)} ${cost}  ${c.why}${cross}${c.sources.length > 0 && c.computeNs !== undefined ? ` [${c.sources.join(', ')}]` : ''}${soft}`);
    }
  }
  lines.push('');
  lines.push('predicted whole placement:');
  lines.push(`  ${'chosen'.padEnd(16)}${summaryLine(r.chosen)}`);
  for (const b of r.baselines) {
    const ratio = r.chosen.prediction.throughputPps / b.prediction.throughputPps;
    const vs = Number.isFinite(ratio) ? `  (chosen is ${ratio.toFixed(2)}x its rate)` : '';
    lines.push(`  ${b.name.padEnd(16)}${summaryLine(b)}${vs}`);
  }
  lines.push('');
  lines.push(`stages of the chosen placement (slowest limits the rate):`);
  for (const s of r.chosen.prediction.stages) {
    lines.push(`  ${s.name.padEnd(22)} ${formatNs(s.nsPerBatch).padStart(10)}/batch ${formatRate(s.ratePps).padStart(12)}  ${s.elements.join(', ')}`);
  }
  return lines.join('\n');
}

/** The report as JSON (non-finite figures, such as an unbounded latency, become null). */
export function planReportJson(r: PlanReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}
