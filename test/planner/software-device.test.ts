/**
 * A software device (lavapipe, the Verilator FPGA, gpu.js's CPU modes) computes on the host's
 * cores, so the model charges its kernel time to the CPU stage instead of a stage of its own.
 * Worked by hand from configured costs (host elements free, no transfers), batch 1000:
 *   cpu 60 ns a packet: 60 µs a batch, 16.67 Mpps.
 *   null 40 ns a packet: 40 µs a batch. As a real device it is a stage of its own (25 Mpps)
 *   and a 0.6/0.4 split balances both stages at 24 µs (41.67 Mpps). As a software device its
 *   40 µs land on the cpu stage: alone 25 Mpps still (the only work), but no split can beat it,
 *   because both parts now load the same stage.
 */
import { describe, expect, it } from 'vitest';
import { explainPlan, formatPlanReport } from '../../core/planner/explain.js';
import { costsFile, option, problemOf } from './support.js';

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
