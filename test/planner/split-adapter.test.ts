/**
 * The placement adapter with split placements, on injected measurements (no clocks), figures
 * worked out by hand (host elements free, no transfers, batches of 1000):
 *   - the costs file says null does a lookup in 1 ns, the device takes 40; corrected, null
 *     (40 µs a batch) and cpu (60 µs) balance at null:0.6,cpu:0.4 (24 µs each stage, 41.67 Mpps
 *     against 25 on null alone): the adapter chooses that split;
 *   - on the split, each part is held to its own prediction: cpu measured at 120 ns a packet
 *     (x2) for the dwell shifts the shares once, to null:0.75,cpu:0.25 (30 µs each stage);
 *     measurements within the threshold after that move nothing;
 *   - oscillating part measurements never re-plan over 60 rounds, and a part that keeps getting
 *     slower moves the placement at most once per dwell.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ADAPT, PlacementAdapter, problemSource, type ElementSample } from '../../core/planner/adapter.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import type { SearchOptions } from '../../core/planner/search.js';
import { costsFile, graphOf, option } from './support.js';

const LOOKUP = 'Idle -> rt :: IPLookup(0/0 0) -> Discard;\n';
const SEARCH: SearchOptions = { objective: 'throughput', batch: 1000 };

function adapter(nullNs: number, initial: string, opts = DEFAULT_ADAPT, config = LOOKUP): PlacementAdapter {
  const book = new CostBook(parseCostsFile(JSON.stringify(costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: nullNs, perBatchNs: 0 } })), 'costs.json'));
  const source = problemSource({ graph: graphOf(config), backends: [option('cpu'), option('null')], book, hasForm: () => true });
  return new PlacementAdapter(source, SEARCH, opts, { rt: initial });
}

/** Ten batches of 1000 on one location at `nsPerItem`. */
function single(location: string, nsPerItem: number): ElementSample[] {
  return [{ element: 'rt', location, batches: 10, items: 10_000, ns: 10_000 * nsPerItem }];
}

/** A split's sample: each part's batches of 1000 at its own ns a packet. */
function split(location: string, parts: [string, number, number][]): ElementSample[] {
  const ps = parts.map(([loc, batches, ns]) => ({ location: loc, batches, items: batches * 1000, ns: batches * 1000 * ns }));
  return [{ element: 'rt', location, batches: ps.reduce((s, p) => s + p.batches, 0), items: ps.reduce((s, p) => s + p.items, 0), ns: ps.reduce((s, p) => s + p.ns, 0), parts: ps }];
}

describe('the adapter chooses a split, then shifts its shares once', () => {
  it('null claimed at 1 ns, measured at 40: null:0.6,cpu:0.4 after the dwell; cpu then measured at x2: null:0.75,cpu:0.25, once', () => {
    const a = adapter(1, 'null');
    expect(a.observe(single('null', 40))).toBeNull();
    expect(a.observe(single('null', 40))).toBeNull();
    const d = a.observe(single('null', 40))!;
    expect(d.round).toBe(3);
    expect(d.reason).toBe('rt on null: measured 40.00 µs a batch of 1000 against 1.00 µs predicted (x40.00 for 3 samples, threshold ±50%)');
    expect(d.moves).toEqual([{ element: 'rt', from: 'null', to: 'null:0.6,cpu:0.4' }]);
    a.settle(d, 'rt: done', { rt: 'null:0.6,cpu:0.4' });

    // On the split: both parts as predicted (null 40, cpu 60), within ±50% up and down: nothing.
    for (let i = 0; i < 10; i++) expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, i % 2 === 0 ? 55 : 30], ['cpu', 4, i % 2 === 0 ? 45 : 80]]))).toBeNull();
    // The cpu part at 120 ns a packet (x2) for the dwell: one shift.
    expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40], ['cpu', 4, 120]]))).toBeNull();
    expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40], ['cpu', 4, 120]]))).toBeNull();
    const shift = a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40], ['cpu', 4, 120]]))!;
    expect(shift.round).toBe(16);
    expect(shift.reason).toBe('rt on cpu (part of null:0.6,cpu:0.4): measured 120.00 µs a batch of 1000 against 60.00 µs predicted (x2.00 for 3 samples, threshold ±50%)');
    expect(shift.moves).toEqual([{ element: 'rt', from: 'null:0.6,cpu:0.4', to: 'null:0.75,cpu:0.25' }]);
    a.settle(shift, 'rt: done', { rt: 'null:0.75,cpu:0.25' });
    expect(a.predictedNs('rt', 'cpu', 1000)).toBe(120_000);

    // The new shares, measured as now predicted (null 40, cpu 120) within ±30%: no further move.
    for (let i = 0; i < 60; i++) expect(a.observe(split('null:0.75,cpu:0.25', [['null', 15, i % 3 === 0 ? 52 : 30], ['cpu', 5, i % 2 === 0 ? 150 : 90]]))).toBeNull();
    expect(a.history()).toHaveLength(2);
    expect(a.text().split('\n')[1]).toBe(`#2 round 16: rt null:0.6,cpu:0.4 -> null:0.75,cpu:0.25 [rt: done]; because ${shift.reason}`);
  });

  it('a part that agrees and one that is off in turn keep separate streaks: the off one alone counts', () => {
    const a = adapter(40, 'null:0.6,cpu:0.4');
    // cpu x2 three rounds running; null fine, then x3 once (its own streak, one sample), then fine: the cpu streak reaches the dwell.
    expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40], ['cpu', 4, 120]]))).toBeNull();
    expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, 120], ['cpu', 4, 120]]))).toBeNull();
    expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40], ['cpu', 4, 120]]))?.moves).toEqual([{ element: 'rt', from: 'null:0.6,cpu:0.4', to: 'null:0.75,cpu:0.25' }]);
  });
});

describe('an oscillating split does not flap', () => {
  it('parts at 3x and 1x (or 1/3x) in turn, out of phase, for 60 rounds: no re-plan', () => {
    for (const low of [1, 1 / 3]) {
      const a = adapter(40, 'null:0.6,cpu:0.4');
      for (let i = 0; i < 60; i++) {
        const [n, c] = i % 2 === 0 ? [3, low] : [low, 3];
        expect(a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40 * n], ['cpu', 4, 60 * c]]))).toBeNull();
      }
      expect(a.history()).toHaveLength(0);
    }
  });

  it('bursts shorter than the dwell (2 slow, 1 fine) on either part never re-plan', () => {
    const a = adapter(40, 'null:0.6,cpu:0.4');
    const pattern = [3, 3, 1];
    for (let i = 0; i < 60; i++) a.observe(split('null:0.6,cpu:0.4', [['null', 6, 40 * pattern[i % 3]], ['cpu', 4, 60 * pattern[(i + 1) % 3]]]));
    expect(a.history()).toHaveLength(0);
  });

  it('a part that keeps getting slower moves the placement at most once per dwell', () => {
    // IN_FLIGHT 8 (the scheduler's 8 too): the in-order merge hides a null batch of up to 7 cpu
    // batches (cost-model.ts, merge stall), so the shares move by the parts' stages alone.
    const a = adapter(40, 'null:0.6,cpu:0.4', DEFAULT_ADAPT, 'Idle -> rt :: IPLookup(0/0 0, IN_FLIGHT 8) -> Discard;\n');
    let where = 'null:0.6,cpu:0.4';
    for (let i = 0; i < 30; i++) {
      // The null part always at 4x whatever is now predicted for it.
      const nullNs = 4 * (a.predictedNs('rt', 'null', 1000)! / 1000);
      const d = a.observe(split(where, [['null', 6, nullNs], ['cpu', 4, 60]]));
      if (d === null) continue;
      const to = d.to.rt;
      a.settle(d, 'rt: done', { rt: to });
      where = to;
      // Once all-cpu, no part is on null to measure.
      if (!where.includes(',')) break;
    }
    const rounds = a.history().map((d) => d.round);
    // null x4 (160 ns): shares to 0.27 (43.2 vs 43.8 µs; its 160 µs batch inside the merge window
    // of 7 x 43.8 µs); x4 again (640 ns): at share w the cpu stage is 60(1-w) µs plus the stall
    // w(640 - 420(1-w)) µs, above 60 for every w > 0: all-cpu. A dwell apart.
    expect(a.history().map((d) => [d.round, d.to.rt])).toEqual([
      [3, 'null:0.27,cpu:0.73'],
      [6, 'cpu'],
    ]);
    rounds.forEach((r, i) => expect(r - (i === 0 ? 0 : rounds[i - 1])).toBeGreaterThanOrEqual(DEFAULT_ADAPT.dwell));
  });
});
