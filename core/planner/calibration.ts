/**
 * Calibration: run a kernel's registered form on a backend over a range of batch sizes and fit
 *   time per batch = perBatchNs + perItemNs * batch
 * by least squares, with the fit's error (RMS of the residuals, and that relative to the mean
 * time), so the planner works from this machine's figures instead of a backend's defaults.
 *
 * What is timed: the backend's host wall time per run (`hostMs`: upload, dispatch, readback),
 * the low quantile (`LOW_QUANTILE`) of `repeats` runs per batch size, in interleaved rounds (each
 * round runs every batch size once, so a stretch of load hits every size alike instead of
 * bending the line at the sizes it happened to hit; load only adds time, so the lower quarter is
 * the work with the least interference). Transfers are inside that
 * time, so a calibrated profile's perByteTransferNs is 0 (its per-item cost carries them). A
 * backend whose time is simulated reports it (`device.simulatedNs`: the null backend, whose
 * configured costs are the whole point) and that is fitted instead of the host time.
 */
import type { Backend, KernelIo, StructureHandle } from '../backend.js';
import type { StructureKind } from '../structures/image.js';
import type { CostProfile } from './cost-profile.js';

export interface BatchSample {
  batch: number;
  ns: number;
}

export interface LinearFit {
  perBatchNs: number;
  perItemNs: number;
  /** Root mean square of the residuals, ns. */
  rmsNs: number;
  /** rmsNs over the mean measured time (0 = a perfect line). */
  relativeError: number;
}

/**
 * Least squares of ns = a + b * batch. A negative intercept (noise on a tiny launch cost) is
 * not a cost: the line is then refitted through the origin.
 */
export function fitBatchCost(samples: readonly BatchSample[]): LinearFit {
  if (samples.length === 0) throw new Error('fitBatchCost: no samples');
  const n = samples.length;
  const mx = samples.reduce((s, p) => s + p.batch, 0) / n;
  const my = samples.reduce((s, p) => s + p.ns, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of samples) {
    sxx += (p.batch - mx) ** 2;
    sxy += (p.batch - mx) * (p.ns - my);
  }
  let b = sxx === 0 ? 0 : sxy / sxx;
  let a = my - b * mx;
  if (a < 0 || b < 0) {
    const x2 = samples.reduce((s, p) => s + p.batch * p.batch, 0);
    b = Math.max(0, samples.reduce((s, p) => s + p.batch * p.ns, 0) / x2);
    a = 0;
  }
  const rss = samples.reduce((s, p) => s + (p.ns - (a + b * p.batch)) ** 2, 0);
  const rmsNs = Math.sqrt(rss / n);
  return { perBatchNs: a, perItemNs: b, rmsNs, relativeError: my === 0 ? 0 : rmsNs / my };
}

/** What to run a kernel on: its structures and params, and real columns of any size. */
export interface KernelWorkload {
  kernel: string;
  /** Where the data comes from (a route file, a capture), for the record. */
  data: string;
  structures: readonly { kind: StructureKind; image: Uint32Array; generation: number }[];
  params: Record<string, number>;
  io(count: number): KernelIo;
}

export interface CalibratedProfile extends CostProfile {
  source: 'calibrated';
  fit: LinearFit;
  samples: BatchSample[];
  data: string;
}

export interface CalibrationOptions {
  /** Batch sizes to time (32 .. 1M for a real calibration; fewer in tests). */
  batches: readonly number[];
  /** Interleaved rounds (runs per batch size); their low quantile counts. */
  repeats: number;
}

/** The quantile calibration figures are taken at: load only ever adds time (README "Fits under load"). */
export const LOW_QUANTILE = 0.25;

/**
 * The low quantile (linear interpolation between order statistics) of per-round figures. Load on
 * a shared machine only adds time to a run, so a spike in one round lifts the high figures and the
 * median with them when it hits half the rounds; the lower quarter is what the work costs with the
 * least interference that still happened more than once.
 */
export function lowQuantile(xs: readonly number[], q = LOW_QUANTILE): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (at - lo);
}

/** Least time each batch size runs before it is timed (JIT, caches, buffers settled). */
export const WARM_UP_MS = 30;

export async function calibrateKernel(backend: Backend, workload: KernelWorkload, opts: CalibrationOptions): Promise<CalibratedProfile> {
  if (opts.batches.length < 2) throw new Error('calibrate: at least two batch sizes are needed to separate per-batch from per-item cost');
  const handles: StructureHandle[] = [];
  try {
    for (const s of workload.structures) handles.push(await backend.loadStructure(s.kind, s.image, s.generation));
    const ios = opts.batches.map((batch) => workload.io(batch));
    // The first run of a size compiles shaders, sizes buffers: not what a steady run costs. A
    // CPU form is not what it costs in a router either until the JIT has optimised it (a
    // router calls it thousands of times): a few cold runs read 3-8x slower than it runs there
    // (issue 11). So each size repeats for at least WARM_UP_MS before any is timed.
    for (const io of ios) {
      const warmUntil = performance.now() + WARM_UP_MS;
      do await backend.runKernel(workload.kernel, io, handles, workload.params);
      while (performance.now() < warmUntil);
    }
    const times: number[][] = opts.batches.map(() => []);
    for (let r = 0; r < opts.repeats; r++) {
      for (const [bi, io] of ios.entries()) {
        const stats = await backend.runKernel(workload.kernel, io, handles, workload.params);
        times[bi].push(stats.device?.simulatedNs ?? stats.hostMs * 1e6);
      }
    }
    const samples: BatchSample[] = opts.batches.map((batch, bi) => ({ batch, ns: lowQuantile(times[bi]) }));
    const fit = fitBatchCost(samples);
    const own = backend.costs(workload.kernel);
    return {
      kernel: workload.kernel,
      backend: backend.name,
      ...(backend.variant === undefined ? {} : { variant: backend.variant }),
      perItemNs: fit.perItemNs,
      perBatchNs: fit.perBatchNs,
      perByteTransferNs: 0,
      capacityBytes: own.capacityBytes,
      source: 'calibrated',
      fit,
      samples,
      data: workload.data,
    };
  } finally {
    for (const h of handles) await backend.releaseStructure(h);
  }
}
