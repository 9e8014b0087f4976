/**
 * The planner's split placements, every answer worked out by hand from the null backend's
 * configured costs (host elements free, no transfers):
 *   - a split wins when both backends together beat either alone, at the share that balances
 *     their stages;
 *   - small batches stay on the CPU when the device's launch cost dominates (below the
 *     crossover batch), even with splits allowed: the device's few batches' worth is under the
 *     split's minimum gain; above it the device, or a split, wins;
 *   - a pinned split (`PLACE null:0.5,cpu`) is predicted as written.
 */
import { describe, expect, it } from 'vitest';
import { crossoverBatch } from '../../core/planner/cost-model.js';
import { explainPlan, formatPlanReport } from '../../core/planner/explain.js';
import { SPLIT_MIN_GAIN } from '../../core/planner/search.js';
import { costsFile, problemOf } from './support.js';

const LOOKUP = 'Idle -> rt :: IPLookup(0/0 0) -> Discard;\n';

describe('a split wins when both backends together beat either alone', () => {
  // cpu 60 ns a packet, null 40: at 1000 packets a batch, cpu 60 µs (16.67 Mpps), null 40 µs
  // (25 Mpps). Share w on null: stages w*40 µs and (1-w)*60 µs, equal at w = 0.6: 24 µs each,
  // 41.67 Mpps. At w = 0.59 the cpu stage is 24.6 µs, at 0.61 the null stage 24.4 µs.
  const costs = costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 0 } });

  it('throughput: null:0.6,cpu:0.4 at 41.67 Mpps against 25 (null alone) and 16.67 (all-CPU)', () => {
    const report = explainPlan(problemOf(LOOKUP, costs), { objective: 'throughput', batch: 1000 });
    expect(report.chosen.placement.rt).toBe('null:0.6,cpu:0.4');
    expect(report.chosen.prediction.throughputPps).toBeCloseTo(1000 / 24e-6, -3);
    const stages = Object.fromEntries(report.chosen.prediction.stages.map((s) => [s.name, s.nsPerBatch]));
    expect(stages.null).toBeCloseTo(24_000, 6);
    expect(stages.cpu).toBeCloseTo(24_000, 6);
    // The slower part's whole batch is the path.
    expect(report.chosen.prediction.pathNs).toBeCloseTo(60_000, 6);
    const base = Object.fromEntries(report.baselines.map((b) => [b.name, b.prediction.throughputPps]));
    expect(base['all-cpu']).toBeCloseTo(1000 / 60e-6, -3);
    expect(base['all-accelerator']).toBeCloseTo(1000 / 40e-6, -3);
    const rt = report.elements.find((e) => e.name === 'rt')!;
    const chosen = rt.candidates.find((c) => c.chosen)!;
    expect(chosen.backend).toBe('null:0.6,cpu:0.4');
    expect(chosen.why).toMatch(/^split: beats every single placement by 5% or more for throughput/);
    expect(rt.candidates.find((c) => c.backend === 'null')!.why).toMatch(/placement 25\.00 Mpps vs 41\.67 Mpps \(40\.0% lower\)/);
    expect(report.methodReason).toMatch(/split placements beat every single placement found: rt null:0\.6,cpu:0\.4$/);
    expect(formatPlanReport(report, 't.click')).toMatch(/rt \(IPLookup; .*\) -> null:0\.6,cpu:0\.4/);
  });

  it('latency: no split (its path is the slower part\'s batch, 60 µs, against 40 µs on null alone)', () => {
    const report = explainPlan(problemOf(LOOKUP, costs), { objective: 'latency', batch: 1000 });
    expect(report.chosen.placement.rt).toBe('null');
    expect(report.chosen.prediction.pathNs).toBeCloseTo(40_000, 6);
  });

  it('splits off: the best single placement', () => {
    expect(explainPlan(problemOf(LOOKUP, costs), { objective: 'throughput', batch: 1000, splits: false }).chosen.placement.rt).toBe('null');
  });
});

describe('small batches stay on the CPU when the launch cost dominates', () => {
  // cpu 60 ns a packet; null 40 ns a packet plus 20 µs a launch. Alone, null beats cpu when
  // 20000 + 40B < 60B, i.e. from B = 1001.
  const costs = costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 20_000 } });

  it('the crossover batch is 1001, and the explanation says so', () => {
    const problem = problemOf(LOOKUP, costs);
    const rt = problem.elements.find((e) => e.name === 'rt')!;
    const cpu = rt.candidates.find((c) => c.label === 'cpu')!;
    const dev = rt.candidates.find((c) => c.label === 'null')!;
    expect(crossoverBatch(rt, cpu, dev)).toBe(1001);
    const report = explainPlan(problem, { objective: 'throughput', batch: 8 });
    expect(report.elements.find((e) => e.name === 'rt')!.candidates.find((c) => c.backend === 'null')!.crossoverBatch).toBe(1001);
  });

  it('batch 8: cpu, splits or not (null adds 8/20.32 µs = 0.39 Mpps to cpu\'s 16.67: a 2.4% gain, under the 5% a split needs)', () => {
    expect(SPLIT_MIN_GAIN).toBe(0.05);
    for (const splits of [true, false]) {
      const report = explainPlan(problemOf(LOOKUP, costs), { objective: 'throughput', batch: 8, splits });
      expect(report.chosen.placement.rt).toBe('cpu');
      expect(report.chosen.prediction.throughputPps).toBeCloseTo(1 / 60e-9, -3);
    }
  });

  it('batch 1000 (below the crossover): cpu alone without splits', () => {
    expect(explainPlan(problemOf(LOOKUP, costs), { objective: 'throughput', batch: 1000, splits: false }).chosen.placement.rt).toBe('cpu');
  });

  it('batch 4096 (above): null alone without splits; with them null:0.57,cpu:0.43', () => {
    // null 20000 + 40*4096 = 183840 ns, cpu 60*4096 = 245760 ns. Balanced at w = 245760/429600
    // = 0.572: w = 0.57 gives stages 104788.8 (null) and 105676.8 (cpu); 0.58 gives 106627.2.
    expect(explainPlan(problemOf(LOOKUP, costs), { objective: 'throughput', batch: 4096, splits: false }).chosen.placement.rt).toBe('null');
    const report = explainPlan(problemOf(LOOKUP, costs), { objective: 'throughput', batch: 4096 });
    expect(report.chosen.placement.rt).toBe('null:0.57,cpu:0.43');
    expect(report.chosen.prediction.throughputPps).toBeCloseTo(4096 / 105676.8e-9, -3);
    expect(report.chosen.prediction.bottleneck).toBe('cpu');
  });
});

describe('a pinned split', () => {
  it('PLACE null:0.5,cpu is the only candidate, predicted as written', () => {
    const costs = costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 0 } });
    const report = explainPlan(problemOf('Idle -> rt :: IPLookup(0/0 0, PLACE null:0.5,cpu) -> Discard;\n', costs), { objective: 'throughput', batch: 1000 });
    expect(report.chosen.placement.rt).toBe('null:0.5,cpu:0.5');
    // null 0.5*40 µs = 20 µs, cpu 0.5*60 µs = 30 µs: 33.3 Mpps, cpu the bottleneck.
    expect(report.chosen.prediction.throughputPps).toBeCloseTo(1000 / 30e-6, -3);
    expect(report.chosen.prediction.bottleneck).toBe('cpu');
    const rt = report.elements.find((e) => e.name === 'rt')!;
    expect(rt.pinned).toBe('pinned by PLACE at plan-test.click:1:31');
    expect(rt.candidates.map((c) => c.backend)).toEqual(['null:0.5,cpu:0.5']);
  });

  it('a part the planner cannot use is an error at the pin', () => {
    const costs = costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 } });
    expect(() => problemOf('Idle -> rt :: IPLookup(0/0 0, PLACE null:0.5,cpu) -> Discard;\n', costs)).toThrow(
      "plan-test.click:1:31: 'rt' (IPLookup) cannot be pinned to 'null:0.5,cpu:0.5' by PLACE: null: unavailable: no cost profile for ip-lookup on null",
    );
  });
});

describe('a split is offered only to an element that can carry it out (SplitPlaceable)', () => {
  // The same costs as above, where null:0.6,cpu wins for IPLookup; FlowHash has no split of its
  // batches at run time, so its best is null alone (25 Mpps), and `hetbox run` could run it.
  const costs = costsFile('flow-hash', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 0 } });

  it('FlowHash: null alone, no split among its candidates', () => {
    const problem = problemOf('Idle -> fh :: FlowHash -> Discard;\n', costs);
    expect(problem.elements.find((e) => e.name === 'fh')!.splittable).toBe(false);
    const report = explainPlan(problem, { objective: 'throughput', batch: 1000 });
    expect(report.chosen.placement.fh).toBe('null');
    expect(report.chosen.prediction.throughputPps).toBeCloseTo(1000 / 40e-6, -3);
  });

  it('IPLookup is marked splittable', () => {
    expect(problemOf(LOOKUP, costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 0 } })).elements.find((e) => e.name === 'rt')!.splittable).toBe(true);
  });
});
