/**
 * The cost model: predicted throughput and latency of one placement (element -> candidate).
 *
 * Work is counted per source batch of B packets; an element seeing share s of the packets
 * handles s*B of them per source batch:
 *   host element           perBatchNs + perItemNs * s*B                      on the CPU
 *   kernel on backend X    perBatchNs + perItemNs * s*B                      on X
 *                        + perByteTransferNs * (bytes in + out) * s*B        on the bus to X
 *                        + host side (X): perBatchNs + perItemNs * s*B       on the CPU
 * A kernel element's host side is what it does on the host thread around its kernels (gathering
 * the columns, routing on the results, accounting; for a backend other than the inline CPU form,
 * the runner's copies and promise), measured per class and backend by `hetbox calibrate`
 * (app/host-calibration.ts): without it an offloaded element looked free to the CPU stage and
 * the all-CPU router 40-60% too fast (issue 11).
 * Resources are stages that work in parallel (the scheduler keeps batches in flight on a
 * device while the CPU goes on), but everything on one resource shares it: the host thread runs
 * every CPU element and the CPU forms of kernels, one device runs all kernels placed on it, one
 * bus carries all of that device's transfers. A software device (lavapipe, gpu.js's CPU modes,
 * the Verilator FPGA: `sharesHostCpu`) has no resource of its own: its compute and copies run on
 * the host's cores, so they are charged to the CPU stage, but it runs on its own threads (lavapipe's
 * workers, the Verilator process), beside the host thread where a core is free. With C cores
 * (`problem.hostCores`), host-thread work T and software device work S_d:
 *   cpu stage = max(T, max_d S_d, (T + sum_d S_d) / C)
 * (each is serial on its own, and together they cannot use more than C cores; C = 1 is the sum).
 * Without the overlap lavapipe on 2 cores ran 30% faster than predicted (issue 11).
 * So throughput is the slowest stage:
 *   B / max over stages (sum of its ns per source batch).
 * Latency is the longest source-to-sink path (each element's time for its batch, transfers
 * included) plus, at an expected packet rate R, the B/R it takes the source to fill a batch;
 * a placement slower than R never catches up, and its latency is unbounded.
 *
 * A split placement (`webgpu:0.7,cpu`) sends whole batches to each part by a credit counter, so
 * part p with share w runs w of the element's batches at the full batch size:
 *   on p's stages      w * (perBatchNs + perItemNs * s*B)   (and w of the transfers)
 * The parts work in parallel, so a split beats both single placements when neither stage is
 * loaded enough by the rest of the graph; its latency is the slower part's batch (a batch runs
 * on one part, and the model does not know which).
 *
 * But the merge is in order (the scheduler delivers an element's outputs in sequence) and the
 * element keeps at most k = `inFlight` batches going: while one batch is on a part that takes
 * L_p for it (its time on the path), the host thread can finish k - 1 more batches of the element
 * (P each: the cpu stage per batch) and run the elements upstream of it ahead for the scheduler's
 * other M - k batches in flight (U each: their host-thread work per batch), then it waits:
 *   merge stall = sum over split parts p not on the host thread  w_p * max(0, L_p - (k-1)P - (M-k)U)
 * per source batch, on the cpu stage (the host thread waits). A part slow per batch given a small
 * share was priced as if its batches overlapped everything; measured, `webgpu:0.12,cpu` on
 * lavapipe ran 2.2 Mpps against 6.6 predicted (issue 11).
 */
import { CPU, DEFAULT_IN_FLIGHT, type Candidate, type PlacementProblem, type PlannerElement } from './placement-problem.js';

/** The router's batches in flight by default (core/router.ts `maxInFlight`), the M of the merge stall. */
export const DEFAULT_MAX_IN_FLIGHT = 8;

export interface ModelOptions {
  /** Packets per source batch (the scheduler's batch size). */
  batch: number;
  /** Expected packet rate (packets per second); adds the batch-fill wait to the latency. */
  ratePps?: number;
  /** The scheduler's source batches in flight (Router's `maxInFlight`; DEFAULT_MAX_IN_FLIGHT). */
  maxInFlight?: number;
}

/** A placement: for element i, the index of its candidate in `problem.elements[i].candidates`. */
export type Placement = readonly number[];

export interface ElementCost {
  /** Device (or host) time for the element's part of one source batch, ns. */
  computeNs: number;
  /** Host<->device transfer time for it, ns (0 on the CPU). */
  transferNs: number;
  /** A kernel element's host side (on the CPU thread wherever its kernels run), ns; 0 for a host element (computeNs is all of it). */
  hostSideNs: number;
  /** computeNs + transferNs + hostSideNs: the element's time on the path. */
  totalNs: number;
}

export type StageKind = 'host' | 'device' | 'transfer';

export interface Stage {
  name: string;
  kind: StageKind;
  elements: string[];
  nsPerBatch: number;
  /** Packets per second this stage alone could sustain. */
  ratePps: number;
}

export interface Prediction {
  throughputPps: number;
  /** The slowest stage. */
  bottleneck: string;
  stages: Stage[];
  /** Longest path, compute and transfers, ns. */
  pathNs: number;
  /** Wait to fill a batch at the expected rate, ns (0 without a rate). */
  fillWaitNs: number;
  /** pathNs + fillWaitNs, or Infinity when the placement cannot keep up with the rate. */
  latencyNs: number;
  /** False when an expected rate was given and the placement is slower. */
  keepsUp: boolean;
  /** Host-thread wait per source batch for split parts the in-order merge could not hide (in the cpu stage), ns. */
  mergeStallNs: number;
}

/** The cost of element `e` on candidate `c` for one source batch of `batch` packets. */
export function elementCost(e: PlannerElement, c: Candidate, batch: number): ElementCost {
  const items = e.share * batch;
  if (e.share === 0) return { computeNs: 0, transferNs: 0, hostSideNs: 0, totalNs: 0 };
  if (c.split !== undefined) {
    // Shares of the work on each part; the slower part's whole batch for the path.
    const w = c.split.weights;
    const parts = c.split.parts.map((p) => elementCost(e, p, batch));
    return {
      computeNs: parts.reduce((sum, p, i) => sum + w[i] * p.computeNs, 0),
      transferNs: parts.reduce((sum, p, i) => sum + w[i] * p.transferNs, 0),
      hostSideNs: parts.reduce((sum, p, i) => sum + w[i] * p.hostSideNs, 0),
      totalNs: Math.max(...parts.map((p) => p.totalNs)),
    };
  }
  if (e.host !== undefined) {
    const computeNs = e.host.perBatchNs + e.host.perItemNs * items;
    return { computeNs, transferNs: 0, hostSideNs: 0, totalNs: computeNs };
  }
  let computeNs = 0;
  let transferNs = 0;
  c.profiles.forEach((p, k) => {
    computeNs += p.perBatchNs + p.perItemNs * items;
    // The CPU form reads the columns where they are: nothing crosses a bus.
    if (c.backend !== CPU) transferNs += p.perByteTransferNs * (e.bytesIn[k] + e.bytesOut[k]) * items;
  });
  const hostSideNs = c.hostSide === undefined ? 0 : c.hostSide.perBatchNs + c.hostSide.perItemNs * items;
  return { computeNs, transferNs, hostSideNs, totalNs: computeNs + transferNs + hostSideNs };
}

function rate(batch: number, ns: number): number {
  return ns <= 0 ? Infinity : (batch * 1e9) / ns;
}

export function predict(problem: PlacementProblem, placement: Placement, opts: ModelOptions): Prediction {
  const stages = new Map<string, Stage>();
  const add = (name: string, kind: StageKind, element: string, ns: number): void => {
    let s = stages.get(name);
    if (s === undefined) {
      s = { name, kind, elements: [], nsPerBatch: 0, ratePps: Infinity };
      stages.set(name, s);
    }
    s.elements.push(element);
    s.nsPerBatch += ns;
  };
  // The cpu stage's parts: the host thread's work, and each software device's (by label).
  let threadNs = 0;
  // Each element's host-thread work per source batch (the merge stall's run-ahead upstream).
  const threadOf = new Array<number>(problem.elements.length).fill(0);
  const softwareNs = new Map<string, number>();
  const charge = (i: number, e: PlannerElement, c: Candidate, cost: ElementCost, share: number): void => {
    const before = threadNs;
    if (c.backend === CPU) {
      add('cpu', 'host', e.name, share * cost.totalNs);
      threadNs += share * cost.totalNs;
    } else if (c.sharesHostCpu === true) {
      // A software device (lavapipe, the Verilator FPGA) computes on the host's cores: its
      // kernel competes with the host thread for them; the host side is the thread's own.
      add('cpu', 'host', e.name, share * cost.totalNs);
      threadNs += share * cost.hostSideNs;
      softwareNs.set(c.label, (softwareNs.get(c.label) ?? 0) + share * (cost.computeNs + cost.transferNs));
    } else {
      add(c.label, 'device', e.name, share * cost.computeNs);
      add(`${c.label} transfers`, 'transfer', e.name, share * cost.transferNs);
      // The element's own work around the kernel stays on the host thread.
      if (cost.hostSideNs > 0) add('cpu', 'host', e.name, share * cost.hostSideNs);
      threadNs += share * cost.hostSideNs;
    }
    threadOf[i] += threadNs - before;
  };
  const costs = problem.elements.map((e, i) => {
    const c = e.candidates[placement[i]];
    const cost = elementCost(e, c, opts.batch);
    if (c.split === undefined) charge(i, e, c, cost, 1);
    else c.split.parts.forEach((p, k) => charge(i, e, p, elementCost(e, p, opts.batch), c.split!.weights[k]));
    return cost;
  });
  const cpuStage = stages.get('cpu');
  if (cpuStage !== undefined && softwareNs.size > 0) {
    const soft = [...softwareNs.values()];
    const total = threadNs + soft.reduce((a, b) => a + b, 0);
    cpuStage.nsPerBatch = Math.max(threadNs, ...soft, total / problem.hostCores);
  }
  const mergeStallNs = cpuStage === undefined ? 0 : mergeStall(problem, placement, opts, cpuStage.nsPerBatch, threadOf);
  if (cpuStage !== undefined) cpuStage.nsPerBatch += mergeStallNs;
  let throughputPps = Infinity;
  let bottleneck = 'none';
  for (const s of stages.values()) {
    s.ratePps = rate(opts.batch, s.nsPerBatch);
    if (s.ratePps < throughputPps) {
      throughputPps = s.ratePps;
      bottleneck = s.name;
    }
  }
  // Longest path: the order is topological, so every predecessor is done before its successors.
  const upto = new Array<number>(problem.elements.length).fill(0);
  let pathNs = 0;
  for (const i of problem.order) {
    const here = upto[i] + costs[i].totalNs;
    pathNs = Math.max(pathNs, here);
    for (const o of problem.elements[i].outputs) upto[o] = Math.max(upto[o], here);
  }
  const fillWaitNs = opts.ratePps === undefined ? 0 : (opts.batch * 1e9) / opts.ratePps;
  const keepsUp = opts.ratePps === undefined || throughputPps >= opts.ratePps;
  return {
    throughputPps,
    bottleneck,
    stages: [...stages.values()],
    pathNs,
    fillWaitNs,
    latencyNs: keepsUp ? pathNs + fillWaitNs : Infinity,
    keepsUp,
    mergeStallNs,
  };
}

/**
 * The host thread's wait per source batch for split parts slower per batch than the in-order
 * merge's window hides (the file comment's merge stall). `hostNs`: the cpu stage per batch
 * without it (P); `threadOf`: each element's host-thread work per batch (U sums its ancestors').
 */
function mergeStall(problem: PlacementProblem, placement: Placement, opts: ModelOptions, hostNs: number, threadOf: readonly number[]): number {
  const m = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  let stall = 0;
  problem.elements.forEach((e, i) => {
    const c = e.candidates[placement[i]];
    if (c.split === undefined || e.share === 0) return;
    const k = Math.max(1, Math.min(e.inFlight ?? DEFAULT_IN_FLIGHT, m));
    const window = (k - 1) * hostNs + (m - k) * upstreamThreadNs(problem, i, threadOf);
    c.split.parts.forEach((p, j) => {
      // The inline CPU form runs on the host thread itself: nothing to wait for.
      if (p.backend === CPU && p.variant === undefined) return;
      const latency = elementCost(e, p, opts.batch).totalNs;
      stall += c.split!.weights[j] * Math.max(0, latency - window);
    });
  });
  return stall;
}

/** Host-thread work per source batch of every element upstream of element `i` (what can run ahead of it). */
function upstreamThreadNs(problem: PlacementProblem, i: number, threadOf: readonly number[]): number {
  const inputs = problem.elements.map(() => [] as number[]);
  problem.elements.forEach((e, j) => {
    for (const o of e.outputs) inputs[o].push(j);
  });
  const seen = new Set<number>();
  const stack = [...inputs[i]];
  while (stack.length > 0) {
    const j = stack.pop()!;
    if (seen.has(j)) continue;
    seen.add(j);
    stack.push(...inputs[j]);
  }
  let ns = 0;
  for (const j of seen) ns += threadOf[j];
  return ns;
}

/**
 * The smallest batch (up to 2^20) from which the element alone on `device` takes less time per
 * batch than on `cpu` (NBA's crossover: below it the device's launch and transfer costs
 * dominate); undefined when the device never catches up. The figures grow linearly in the batch,
 * so their difference changes sign once at most: a binary search finds the point.
 */
export function crossoverBatch(e: PlannerElement, cpu: Candidate, device: Candidate): number | undefined {
  const own = (c: Candidate, batch: number): number => {
    const cost = elementCost(e, c, batch);
    return c.backend === CPU ? cost.totalNs : Math.max(cost.computeNs, cost.transferNs, cost.hostSideNs);
  };
  const wins = (batch: number): boolean => own(device, batch) < own(cpu, batch);
  const MAX = 1 << 20;
  if (!wins(MAX)) return undefined;
  let lo = 1;
  let hi = MAX;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (wins(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
