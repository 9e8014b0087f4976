/**
 * The placement adapter on injected measurements (no clocks): a profile that lies (the costs file
 * says null does a lookup in 1 ns, the device takes 10 µs) triggers exactly one re-plan, after
 * the dwell, moving the lookup to the CPU; an oscillating measurement never re-plans; a backend
 * that fails re-plans at once, once. Figures worked out by hand; host elements are free.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ADAPT, PlacementAdapter, problemSource, type ElementSample } from '../../core/planner/adapter.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { costsFile, graphOf, option } from './support.js';
import type { SearchOptions } from '../../core/planner/search.js';

const LOOKUP = 'Idle -> rt :: IPLookup(0/0 0) -> Discard;\n';
const SEARCH: SearchOptions = { objective: 'throughput', batch: 1000 };

/** cpu 100 ns a packet; null claims 1 ns a packet (no launch cost, no transfers). */
function adapter(opts = DEFAULT_ADAPT): PlacementAdapter {
  const book = new CostBook(parseCostsFile(JSON.stringify(costsFile('ip-lookup', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0 } })), 'costs.json'));
  const source = problemSource({ graph: graphOf(LOOKUP), backends: [option('cpu'), option('null')], book, hasForm: () => true });
  return new PlacementAdapter(source, SEARCH, opts, { rt: 'null' });
}

/** Ten batches of 1000 on `location` at `nsPerItem`. */
function sample(location: string, nsPerItem: number, extra: Partial<ElementSample> = {}): ElementSample[] {
  return [{ element: 'rt', location, batches: 10, items: 10_000, ns: 10_000 * nsPerItem, ...extra }];
}

describe('a mis-predicted cost', () => {
  it('null measured at 10 µs a packet against 1 ns predicted: one re-plan after the dwell (3 samples), to the CPU; none after', () => {
    const a = adapter();
    expect(a.predictedNs('rt', 'null', 1000)).toBe(1000);
    expect(a.observe(sample('null', 10_000))).toBeNull();
    expect(a.observe(sample('null', 10_000))).toBeNull();
    const d = a.observe(sample('null', 10_000))!;
    expect(d).not.toBeNull();
    expect(d.seq).toBe(1);
    expect(d.round).toBe(3);
    // Corrected: null at 10 µs a packet; cpu's 100 ns wins, and a split would gain 1% (under 5%).
    expect(d.to).toEqual({ rt: 'cpu' });
    expect(d.moves).toEqual([{ element: 'rt', from: 'null', to: 'cpu' }]);
    expect(d.reason).toBe('rt on null: measured 10.00 ms a batch of 1000 against 1.00 µs predicted (x10000.00 for 3 samples, threshold ±50%)');
    expect(a.predictedNs('rt', 'null', 1000)).toBe(10_000_000);
    a.settle(d, 'done', { rt: 'cpu' });
    // On the CPU, measured within 50% of the 100 ns predicted, up and down: nothing more.
    for (let i = 0; i < 30; i++) expect(a.observe(sample('cpu', i % 2 === 0 ? 140 : 75))).toBeNull();
    expect(a.history()).toHaveLength(1);
    expect(a.text()).toBe(`#1 round 3: rt null -> cpu [done]; because ${d.reason}\n`);
  });

  it('a streak broken by one agreeing sample starts again', () => {
    const a = adapter();
    expect(a.observe(sample('null', 10_000))).toBeNull();
    expect(a.observe(sample('null', 10_000))).toBeNull();
    expect(a.observe(sample('null', 1))).toBeNull();
    expect(a.observe(sample('null', 10_000))).toBeNull();
    expect(a.observe(sample('null', 10_000))).toBeNull();
    expect(a.observe(sample('null', 10_000))?.round).toBe(6);
  });
});

describe('an oscillating load does not make placements flap', () => {
  it('3x, 1x, 3x, ... and 3x, 1/3x, 3x, ... for 60 rounds: no re-plan', () => {
    for (const low of [1, 1 / 3]) {
      const a = adapter();
      for (let i = 0; i < 60; i++) expect(a.observe(sample('null', i % 2 === 0 ? 3 : low))).toBeNull();
      expect(a.history()).toHaveLength(0);
    }
  });

  it('bursts shorter than the dwell (2 slow, 1 fine) never re-plan; a dwell of 2 would', () => {
    const pattern = [3, 3, 1];
    const a = adapter();
    for (let i = 0; i < 60; i++) a.observe(sample('null', pattern[i % 3]));
    expect(a.history()).toHaveLength(0);
    const b = adapter({ threshold: 0.5, dwell: 2 });
    for (let i = 0; i < 60; i++) b.observe(sample('null', pattern[i % 3]));
    // Corrected by x3 at round 2, null (3 ns) still beats cpu (100 ns): no move, and no second re-plan.
    expect(b.history().map((d) => [d.round, d.moves.length])).toEqual([[2, 0]]);
  });
});

describe('a backend that fails', () => {
  it('re-plans at once with the reason, and only once for the same failure', () => {
    const a = adapter();
    const fallback = { backend: 'null', reason: 'device lost' };
    const d = a.observe(sample('cpu', 100, { fallback }))!;
    expect(d.reason).toBe('rt: backend null failed (device lost); it runs on cpu');
    expect(d.to).toEqual({ rt: 'cpu' });
    // Already on the CPU (the fallback moved it): nothing to carry out.
    expect(d.moves).toEqual([]);
    for (let i = 0; i < 5; i++) expect(a.observe(sample('cpu', 100, { fallback }))).toBeNull();
    expect(a.history()).toHaveLength(1);
  });
});

describe('options', () => {
  it('refuses a threshold or dwell that cannot work', () => {
    const book = new CostBook();
    const source = problemSource({ graph: graphOf(LOOKUP), backends: [option('cpu')], book, hasForm: () => true });
    expect(() => new PlacementAdapter(source, SEARCH, { threshold: 0, dwell: 3 }, {})).toThrow(/threshold must be > 0/);
    expect(() => new PlacementAdapter(source, SEARCH, { threshold: 0.5, dwell: 0 }, {})).toThrow(/dwell a positive integer/);
  });
});
