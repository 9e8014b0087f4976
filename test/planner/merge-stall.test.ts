/**
 * The split's in-order merge stall (core/planner/cost-model.ts), worked by hand from the null
 * backend's configured costs. A part slow per batch given a small share cannot overlap the rest:
 * the element keeps k = IN_FLIGHT batches going and the scheduler M = 8 source batches, so while
 * one batch is on the slow part the host thread finishes k - 1 more batches of the element and
 * runs the upstream elements ahead for M - k, then waits.
 *
 * Every case: batch 1000, cpu 60 ns a packet, null 200 µs a batch + 40 ns a packet, so a batch
 * on null takes L = 240 µs; pinned split null:0.1,cpu:0.9.
 */
import { describe, expect, it } from 'vitest';
import { predict } from '../../core/planner/cost-model.js';
import { explainPlan, formatPlanReport } from '../../core/planner/explain.js';
import { costsFile, problemOf } from './support.js';

const costs = costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 40, perBatchNs: 200_000 } });
const split = (args = ''): string => `Idle -> rt :: IPLookup(0/0 0, PLACE "null:0.1,cpu"${args}) -> Discard;\n`;

function chosen(config: string, file: unknown = costs) {
  return explainPlan(problemOf(config, file), { objective: 'throughput', batch: 1000 }).chosen.prediction;
}

describe('a split part slower than the merge window stalls the host thread', () => {
  it('IN_FLIGHT 3, nothing upstream: P = 0.9 * 60 µs = 54 µs, window 2P = 108 µs, stall 0.1 * (240 - 108) = 13.2 µs', () => {
    const p = chosen(split());
    expect(p.mergeStallNs).toBeCloseTo(13_200, 6);
    const cpu = p.stages.find((s) => s.name === 'cpu')!;
    expect(cpu.nsPerBatch).toBeCloseTo(54_000 + 13_200, 6);
    // Without the stall the cpu stage (54 µs) would give 18.5 Mpps; with it 14.88.
    expect(p.throughputPps).toBeCloseTo(1000 / 67.2e-6, -3);
    expect(p.bottleneck).toBe('cpu');
    // The explanation says where the cpu stage's extra time comes from.
    const text = formatPlanReport(explainPlan(problemOf(split(), costs), { objective: 'throughput', batch: 1000 }), 't.click');
    expect(text).toMatch(/cpu stage includes a split merge stall of 13\.20 µs\/batch/);
  });

  it('upstream work runs ahead for M - k batches: Counter 10 ns a packet, P = 64 µs, window 2 * 64 + 5 * 10 = 178 µs, stall 6.2 µs', () => {
    const file = { ...(costs as object), hostElements: { default: { perItemNs: 0, perBatchNs: 0 }, byClass: { Counter: { perItemNs: 10, perBatchNs: 0 } } } };
    const p = chosen(`Idle -> Counter -> rt :: IPLookup(0/0 0, PLACE "null:0.1,cpu") -> Discard;\n`, file);
    expect(p.mergeStallNs).toBeCloseTo(6_200, 6);
    expect(p.stages.find((s) => s.name === 'cpu')!.nsPerBatch).toBeCloseTo(64_000 + 6_200, 6);
  });

  it('a wider window hides it: IN_FLIGHT 6, window 5 * 54 = 270 µs > 240, no stall', () => {
    const p = chosen(split(', IN_FLIGHT 6'));
    expect(p.mergeStallNs).toBe(0);
    expect(p.throughputPps).toBeCloseTo(1000 / 54e-6, -3);
  });

  it('fewer batches in flight in the scheduler narrow the window: M = 3, k = 3, window 108 µs, as without upstream', () => {
    const problem = problemOf(split(), costs);
    // Every element's only candidate: the pinned split for rt, the CPU for the host elements.
    const placement = problem.elements.map(() => 0);
    expect(predict(problem, placement, { batch: 1000, maxInFlight: 3 }).mergeStallNs).toBeCloseTo(13_200, 6);
    // M = 2 caps k at 2: window P = 54 µs, stall 0.1 * (240 - 54) = 18.6 µs.
    expect(predict(problem, placement, { batch: 1000, maxInFlight: 2 }).mergeStallNs).toBeCloseTo(18_600, 6);
  });

  it('a single placement has no merge stall (its device stage already bounds it)', () => {
    const p = chosen('Idle -> rt :: IPLookup(0/0 0, PLACE null) -> Discard;\n');
    expect(p.mergeStallNs).toBe(0);
    expect(p.throughputPps).toBeCloseTo(1000 / 240e-6, -3);
  });
});
