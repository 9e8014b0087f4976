/**
 * The planner's cost model and search, on costs simple enough to check by hand. Host elements
 * are free (costs file), so only the kernel's element costs anything. FlowHash moves 20 bytes a
 * packet (4 input columns and 1 output column of 4 bytes).
 */
import { describe, expect, it } from 'vitest';
import { predict } from '../../core/planner/cost-model.js';
import { explainPlan, formatPlanReport } from '../../core/planner/explain.js';
import { allCpuPlacement, searchPlacement, MAX_EXACT_ELEMENTS } from '../../core/planner/search.js';
import { parseCostsFile, CostsFileError } from '../../core/planner/cost-profile.js';
import { PlanningError } from '../../core/planner/placement-problem.js';
import { ONE_FLOW_HASH, costsFile, flowHashChain, option, problemOf } from './support.js';

const BATCH = 1000;

/** The candidate label chosen for element `name`. */
function chosenFor(report: ReturnType<typeof explainPlan>, name: string): string {
  return report.chosen.placement[name];
}

describe('cost model', () => {
  it('predicts per-stage rates, transfers as their own stage, and path latency with the batch-fill wait', () => {
    // cpu: 100 ns/pkt -> 100 us per 1000 -> 10 Mpps. null: 60 us compute, 20 B x 1000 x 3 ns = 60 us transfers.
    const problem = problemOf(ONE_FLOW_HASH, costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 60, perBatchNs: 0, perByteTransferNs: 3 } }));
    const fh = problem.elements.find((e) => e.name === 'fh')!;
    const nullIndex = fh.candidates.findIndex((c) => c.label === 'null');
    const cpu = allCpuPlacement(problem);
    const onNull = cpu.map((c, i) => (i === fh.index ? nullIndex : c));

    const p0 = predict(problem, cpu, { batch: BATCH });
    expect(p0.throughputPps).toBeCloseTo(10e6, 3);
    expect(p0.latencyNs).toBeCloseTo(100_000, 6);

    const p1 = predict(problem, onNull, { batch: BATCH, ratePps: 1e6 });
    // Compute and transfers overlap across batches (separate stages), so 1000 / 60 us = 16.67 Mpps...
    expect(p1.throughputPps).toBeCloseTo(1e9 * (1000 / 60_000), 0);
    expect(p1.stages.map((s) => s.name).sort()).toEqual(['cpu', 'null', 'null transfers']);
    // ...but one batch waits for both: 120 us, plus 1000 packets at 1 Mpps = 1 ms to fill.
    expect(p1.pathNs).toBeCloseTo(120_000, 6);
    expect(p1.fillWaitNs).toBeCloseTo(1_000_000, 6);
    expect(p1.latencyNs).toBeCloseTo(1_120_000, 6);

    // Faster than the placement can go: it never catches up.
    const over = predict(problem, cpu, { batch: BATCH, ratePps: 20e6 });
    expect(over.keepsUp).toBe(false);
    expect(over.latencyNs).toBe(Infinity);
  });

  it('splits packets evenly over outputs (the model cannot know the mix), a Tee copies them', () => {
    const problem = problemOf('Idle -> c :: Classifier(12/0800, -);\nc[0] -> a :: Discard;\nc[1] -> t :: Tee(2);\nt[0] -> b :: Discard;\nt[1] -> d :: Discard;\n', costsFile('flow-hash', {}));
    const share = Object.fromEntries(problem.elements.map((e) => [e.name, e.share]));
    expect(share).toMatchObject({ c: 1, a: 0.5, t: 0.5, b: 0.5, d: 0.5 });
  });
});

describe('host elements', () => {
  it('cost the costs file\'s default, or their class\'s figure, on the CPU thread', () => {
    const file = costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 } }) as { hostElements: Record<string, unknown> };
    file.hostElements = { default: { perItemNs: 1, perBatchNs: 0 }, byClass: { Counter: { perItemNs: 7, perBatchNs: 500 } } };
    const problem = problemOf('Idle -> c :: Counter -> d :: Discard;\n', file);
    const p = predict(problem, allCpuPlacement(problem), { batch: BATCH });
    // Idle 1000 + Counter (500 + 7000) + Discard 1000 = 9500 ns on the one CPU stage.
    expect(p.stages).toEqual([{ name: 'cpu', kind: 'host', elements: ['Idle@1', 'c', 'd'], nsPerBatch: 9500, ratePps: (BATCH * 1e9) / 9500 }]);
  });
});

describe('search and explanation', () => {
  it('offload wins when the device is faster and transfers are cheap', () => {
    // cpu 100 ns/pkt: 10 Mpps. null: 10 us launch + 10 ns/pkt = 20 us per 1000: 50 Mpps.
    const problem = problemOf(ONE_FLOW_HASH, costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 10, perBatchNs: 10_000 } }));
    const report = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH });
    expect(chosenFor(report, 'fh')).toBe('null');
    expect(report.chosen.prediction.throughputPps).toBeCloseTo(50e6, 0);
    const allCpu = report.baselines.find((b) => b.name === 'all-cpu')!;
    expect(allCpu.prediction.throughputPps).toBeCloseTo(10e6, 0);
    const cpu = report.elements.find((e) => e.name === 'fh')!.candidates.find((c) => c.backend === 'cpu')!;
    expect(cpu.chosen).toBe(false);
    expect(cpu.why).toContain('placement 10.00 Mpps vs 50.00 Mpps (80.0% lower)');
    expect(formatPlanReport(report, 't.click')).toMatch(/\* null .*best for throughput in the exact search \(beats cpu alone from batch \d+\) \[costs file\]/);
  });

  it('transfers make offload lose: the bus is the slowest stage', () => {
    // null computes in 20 us but moves 20 B x 1000 x 6 ns = 120 us: 8.33 Mpps < cpu's 10 Mpps.
    const problem = problemOf(ONE_FLOW_HASH, costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 10, perBatchNs: 10_000, perByteTransferNs: 6 } }));
    const report = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH });
    expect(chosenFor(report, 'fh')).toBe('cpu');
    const lost = report.elements.find((e) => e.name === 'fh')!.candidates.find((c) => c.backend === 'null')!;
    expect(lost.transferNs).toBeCloseTo(120_000, 6);
    expect(lost.why).toContain('placement 8.33 Mpps vs 10.00 Mpps (16.7% lower), bottleneck null transfers');
  });

  it('capacity forbids a backend, and the explanation says by how much', () => {
    // The FIB image of one route is far bigger than 1 KiB; null would otherwise win easily.
    const problem = problemOf('Idle -> rt :: IPLookup(10.0.0.0/8 0) -> Discard;\n', costsFile('ip-lookup', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0, capacityBytes: 1024 } }));
    const rt = problem.elements.find((e) => e.name === 'rt')!;
    expect(rt.structureBytes).toBeGreaterThan(1024);
    const report = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH });
    expect(chosenFor(report, 'rt')).toBe('cpu');
    const refused = report.elements.find((e) => e.name === 'rt')!.candidates.find((c) => c.backend === 'null')!;
    expect(refused.status).toBe('no-fit');
    expect(refused.why).toMatch(/^does not fit: rt's structures need .* null holds 1\.0 KiB \(.* short\)$/);
  });

  it('an unavailable backend is listed with its reason; no usable backend at all is an error naming the element', () => {
    const file = costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0 } });
    const problem = problemOf(ONE_FLOW_HASH, file, [option('cpu'), option('null', 'no such card')]);
    const report = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH });
    expect(chosenFor(report, 'fh')).toBe('cpu');
    expect(report.elements.find((e) => e.name === 'fh')!.candidates.find((c) => c.backend === 'null')!.why).toBe('unavailable: no such card');
    expect(() => problemOf(ONE_FLOW_HASH, file, [option('cpu', 'gone'), option('null', 'no such card')])).toThrow(PlanningError);
    expect(() => problemOf(ONE_FLOW_HASH, file, [option('cpu', 'gone'), option('null', 'no such card')])).toThrow(/^fh \(FlowHash\): no backend can run it \(cpu: gone; null: no such card\)$/);
  });

  it('small batches stay on the CPU when the launch cost dominates; large ones go to the device', () => {
    // cpu 1 us + 32 ns/pkt; null 50 us launch + 1 ns/pkt.
    // batch 32: cpu 2.02 us (15.8 Mpps), null 50.03 us (0.64 Mpps). batch 65536: cpu 2.1 ms, null 115.5 us.
    const problem = problemOf(ONE_FLOW_HASH, costsFile('flow-hash', { cpu: { perItemNs: 32, perBatchNs: 1_000 }, null: { perItemNs: 1, perBatchNs: 50_000 } }));
    const small = explainPlan(problem, { splits: false, objective: 'throughput', batch: 32 });
    expect(chosenFor(small, 'fh')).toBe('cpu');
    expect(small.chosen.prediction.throughputPps).toBeCloseTo((32 * 1e9) / 2024, 0);
    const large = explainPlan(problem, { splits: false, objective: 'throughput', batch: 65536 });
    expect(chosenFor(large, 'fh')).toBe('null');
    expect(large.chosen.prediction.throughputPps).toBeCloseTo((65536 * 1e9) / (50_000 + 65536), 0);
  });

  it('objective latency, a latency bound and an expected rate change the choice as computed by hand', () => {
    // null: 16.67 Mpps but 120 us a batch; cpu: 10 Mpps, 100 us a batch.
    const problem = problemOf(ONE_FLOW_HASH, costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 60, perBatchNs: 0, perByteTransferNs: 3 } }));
    expect(chosenFor(explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH }), 'fh')).toBe('null');
    expect(chosenFor(explainPlan(problem, { splits: false, objective: 'latency', batch: BATCH }), 'fh')).toBe('cpu');
    const bounded = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH, latencyBoundNs: 110_000 });
    expect(chosenFor(bounded, 'fh')).toBe('cpu');
    expect(bounded.elements.find((e) => e.name === 'fh')!.candidates.find((c) => c.backend === 'null')!.why).toBe('misses the constraints: latency 120.00 µs is over the bound 110.00 µs');
    // At 12 Mpps the CPU cannot keep up (its latency is unbounded), so even for latency null wins.
    const fast = explainPlan(problem, { splits: false, objective: 'latency', batch: BATCH, ratePps: 12e6 });
    expect(chosenFor(fast, 'fh')).toBe('null');
    expect(fast.chosen.prediction.latencyNs).toBeCloseTo(120_000 + (1000 / 12e6) * 1e9, 3);
    // Nothing meets a bound of 1 us: the best is still reported, with what it misses.
    const impossible = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH, latencyBoundNs: 1_000 });
    expect(impossible.chosen.violations).toEqual(['latency 120.00 µs is over the bound 1.00 µs']);
  });

  it('a tie keeps the element on the CPU (nothing gained by moving its structure)', () => {
    const problem = problemOf(ONE_FLOW_HASH, costsFile('flow-hash', { cpu: { perItemNs: 10, perBatchNs: 0 }, null: { perItemNs: 10, perBatchNs: 0 } }));
    const report = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH });
    expect(chosenFor(report, 'fh')).toBe('cpu');
    expect(report.elements[1].candidates.find((c) => c.backend === 'null')!.why).toContain('ties');
  });

  it('exact up to 12 offloadable elements, a heuristic beyond, and the result says which', () => {
    // Each FlowHash alone is faster on null, but null is one device: its stage is the sum.
    // cpu 100 ns/pkt (100 us/batch each); null 30 ns/pkt (30 us/batch each).
    const costs = costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 30, perBatchNs: 0 } });
    const twelve = problemOf(flowHashChain(MAX_EXACT_ELEMENTS), costs);
    const exact = searchPlacement(twelve, { splits: false, objective: 'throughput', batch: BATCH });
    expect(exact.method).toBe('exact');
    expect(exact.evaluated).toBe(2 ** 12);
    // Best balance of 12: k on null, 12-k on cpu minimising max(30k, 100(12-k)) us: k = 9 -> max(270, 300) = 300 us.
    expect(exact.best.prediction.throughputPps).toBeCloseTo((1000 * 1e9) / 300_000, 0);

    const thirteen = problemOf(flowHashChain(MAX_EXACT_ELEMENTS + 1), costs);
    const heuristic = searchPlacement(thirteen, { splits: false, objective: 'throughput', batch: BATCH });
    expect(heuristic.method).toBe('heuristic');
    expect(heuristic.methodReason).toContain('13 offloadable elements (exact up to 12)');
    // The local search reaches the balance here: k = 10 -> max(300, 300) = 300 us.
    expect(heuristic.best.prediction.throughputPps).toBeCloseTo((1000 * 1e9) / 300_000, 0);
    const report = explainPlan(thirteen, { splits: false, objective: 'throughput', batch: BATCH });
    expect(formatPlanReport(report, 'chain.click')).toContain('search: heuristic (13 offloadable elements');
    for (const b of report.baselines) expect(report.chosen.prediction.throughputPps).toBeGreaterThanOrEqual(b.prediction.throughputPps);
  });
});

describe('costs file', () => {
  it('names the field of a bad value, an unknown backend and a duplicate profile', () => {
    const bad = (v: unknown): string => {
      try {
        parseCostsFile(JSON.stringify(v), 'gpu.json');
      } catch (e) {
        expect(e).toBeInstanceOf(CostsFileError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const ok = { kernel: 'ip-lookup', backend: 'null', perItemNs: 1, perBatchNs: 1, perByteTransferNs: 0, capacityBytes: 10 };
    expect(bad({ profiles: [ok, { ...ok, backend: 'cpu', perItemNs: -1 }] })).toMatch(/^gpu\.json: profiles\[1\]\.perItemNs: /);
    expect(bad({ profiles: [{ ...ok, backend: 'gpu' }] })).toContain("profiles[0].backend: unknown backend 'gpu'");
    expect(bad({ profiles: [ok, ok] })).toBe('gpu.json: profiles[1]: a second profile for ip-lookup@null');
    expect(bad({ profiles: [{ ...ok, perItemNS: 1 }] })).toContain('profiles[0]');
    expect(bad({ hostElements: { byClass: { Counter: { perItemNs: 'x', perBatchNs: 0 } } } })).toContain('hostElements.byClass.Counter.perItemNs');
    expect(() => parseCostsFile('{', 'gpu.json')).toThrow(/^gpu\.json: not JSON/);
  });
});
