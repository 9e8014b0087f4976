/**
 * A software device (lavapipe, the Verilator FPGA, gpu.js's CPU modes) computes on the host's
 * cores, so the model charges its kernel time to the CPU stage instead of a stage of its own.
 * Worked by hand from configured costs (host elements free, no transfers), batch 1000:
 *   cpu 60 ns a packet: 60 µs a batch, 16.67 Mpps.
 *   null 40 ns a packet: 40 µs a batch. As a real device it is a stage of its own (25 Mpps)
 *   and a 0.6/0.4 split balances both stages at 24 µs (41.67 Mpps). As a software device its
 *   40 µs land on the cpu stage: alone 25 Mpps still (the only work), but no split can beat it,
 *   because both parts now load the same stage.
 * With the overlap (problem.hostCores C): the software device's kernel runs on its own threads
 * beside the host thread. Counter 30 ns a packet (30 µs), the lookup's host side on null 10 ns a
 * packet (10 µs), the null kernel 40 µs: host thread T = 40 µs, software S = 40 µs.
 *   C = 1:   max(40, 40, 80/1)   = 80 µs  (12.5 Mpps: the old sum)
 *   C = 1.5: max(40, 40, 80/1.5) = 53.3 µs (18.75 Mpps)
 *   C = 2:   max(40, 40, 80/2)   = 40 µs  (25 Mpps)
 * and a heavier host thread limits on its own: Counter 70 ns, T = 80, C = 2: max(80, 40, 60) = 80 µs.
 */
import { describe, expect, it } from 'vitest';
import { explainPlan, formatPlanReport } from '../../core/planner/explain.js';
import { predict } from '../../core/planner/cost-model.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { buildPlacementProblem, PlanningError } from '../../core/planner/placement-problem.js';
import { costsFile, graphOf, option, problemOf } from './support.js';

const LOOKUP = 'Idle -> rt :: IPLookup(0/0 0) -> Discard;\n';
const costs = costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 0 } });

describe('a software device shares the CPU stage', () => {
  it('its kernel time is charged to the cpu stage, and the plan says so', () => {
    const software = { ...option('null'), sharesHostCpu: true };
    const report = explainPlan(problemOf(LOOKUP, costs, [option('cpu'), software]), { objective: 'throughput', batch: 1000 });
    expect(report.chosen.placement.rt).toBe('null');
    const stages = report.chosen.prediction.stages.map((s) => s.name);
    expect(stages).toEqual(['cpu']);
    expect(report.chosen.prediction.throughputPps).toBeCloseTo(1000 / 40e-6, -3);
    // A split only adds the parts on one stage: 0.6*40 + 0.4*60 = 48 µs > 40 µs.
    expect(report.chosen.placement.rt).not.toMatch(/,/);
    const rt = report.elements.find((e) => e.name === 'rt')!;
    expect(rt.candidates.find((c) => c.backend === 'null')!.sharesHostCpu).toBe(true);
    expect(rt.candidates.find((c) => c.backend === 'cpu')!.sharesHostCpu).toBe(false);
    expect(formatPlanReport(report, 't.click')).toMatch(/null .*software device: runs on the CPU cores/);
  });

  it('a host element and a software-device kernel add up on the cpu stage; a real device overlaps', () => {
    const config = 'Idle -> c :: Counter -> rt :: IPLookup(0/0 0) -> Discard;\n';
    const withHost = { ...(costs as object), hostElements: { default: { perItemNs: 0, perBatchNs: 0 }, byClass: { Counter: { perItemNs: 30, perBatchNs: 0 } } } };
    const soft = explainPlan(problemOf(config, withHost, [option('cpu'), { ...option('null'), sharesHostCpu: true }]), { objective: 'throughput', batch: 1000, splits: false });
    // cpu: 30 + 60 = 90 µs; software null: 30 + 40 = 70 µs on the one stage.
    expect(soft.chosen.placement.rt).toBe('null');
    expect(soft.chosen.prediction.throughputPps).toBeCloseTo(1000 / 70e-6, -3);
    const real = explainPlan(problemOf(config, withHost), { objective: 'throughput', batch: 1000, splits: false });
    // A real device: cpu stage 30 µs, null stage 40 µs, the slower one limits: 25 Mpps.
    expect(real.chosen.prediction.throughputPps).toBeCloseTo(1000 / 40e-6, -3);
  });
});

describe('a software device overlaps the host thread on the cores it has', () => {
  const config = 'Idle -> c :: Counter -> rt :: IPLookup(0/0 0) -> Discard;\n';
  const file = (counterNs: number): unknown => ({
    ...(costs as object),
    hostElements: { default: { perItemNs: 0, perBatchNs: 0 }, byClass: { Counter: { perItemNs: counterNs, perBatchNs: 0 } } },
    hostSide: { 'IPLookup@null': { perItemNs: 10, perBatchNs: 0 } },
  });
  const cpuStageNs = (counterNs: number, hostCores: number): number => {
    const book = new CostBook(parseCostsFile(JSON.stringify(file(counterNs)), 'costs.json'));
    const problem = buildPlacementProblem({ graph: graphOf(config), backends: [option('cpu'), { ...option('null'), sharesHostCpu: true }], book, hasForm: () => true, hostCores });
    const rt = problem.elements.findIndex((e) => e.name === 'rt');
    const placement = problem.elements.map((e, i) => (i === rt ? e.candidates.findIndex((c) => c.label === 'null') : 0));
    const p = predict(problem, placement, { batch: 1000 });
    expect(p.stages.map((s) => s.name)).toEqual(['cpu']);
    expect(p.throughputPps).toBeCloseTo(1000 / (p.stages[0].nsPerBatch * 1e-9), -2);
    return p.stages[0].nsPerBatch;
  };

  it('cpu stage = max(host thread, software device, all of it / cores), worked by hand', () => {
    expect(cpuStageNs(30, 1)).toBeCloseTo(80_000, 6);
    expect(cpuStageNs(30, 1.5)).toBeCloseTo(80_000 / 1.5, 6);
    expect(cpuStageNs(30, 2)).toBeCloseTo(40_000, 6);
    expect(cpuStageNs(70, 2)).toBeCloseTo(80_000, 6);
  });

  it('the plan says how many cores it assumed; fewer than one is refused', () => {
    const book = new CostBook(parseCostsFile(JSON.stringify(file(30)), 'costs.json'));
    const backends = [option('cpu'), { ...option('null'), sharesHostCpu: true }];
    const problem = buildPlacementProblem({ graph: graphOf(config), backends, book, hasForm: () => true, hostCores: 2 });
    const report = explainPlan(problem, { objective: 'throughput', batch: 1000, splits: false });
    expect(report.hostCores).toBe(2);
    expect(formatPlanReport(report, 't.click')).toMatch(/software devices share 2 cores with the host thread/);
    expect(() => buildPlacementProblem({ graph: graphOf(config), backends, book, hasForm: () => true, hostCores: 0.5 })).toThrow(PlanningError);
  });
});
