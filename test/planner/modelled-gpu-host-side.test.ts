/**
 * The modelled GPU's host side (issue 11, planner bench half 2): handing a batch to the worker
 * device (the doorbell and the wake for its answer, slot copies, the runner's promise) costs the host thread tens
 * of µs a batch, and a plan that charges nothing for it offloads where the CPU is faster.
 * Worked by hand from the modelled data-center GPU (15 µs a batch + 0.25 ns a lookup on the
 * device, 12 bytes a packet at 0.05 ns on the bus), a cpu lookup of 100 ns a packet and the
 * lookup's host side on null 25 µs a batch + 5 ns a packet (on cpu: none):
 *   B = 256:  all-CPU 25.6 µs a batch (10.0 Mpps).
 *             rt on null: device 15.064 µs, bus 0.154 µs, cpu stage 25 + 1.28 = 26.28 µs
 *             (9.74 Mpps): the CPU keeps the lookup. Without the host side null would be
 *             chosen at 256 / 15.064 µs = 16.99 Mpps, which is what the bench measured wrong.
 *   B = 4096: all-CPU 409.6 µs (10.0 Mpps); rt on null: cpu stage 25 + 20.48 = 45.48 µs
 *             (90.06 Mpps), device 16.024 µs: offload.
 * Then the calibration itself runs on a given device instance (the bench's worker device, with
 * its options), not the registry's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { NullBackend } from '../../backends/null/null-backend.js';
import { MODELLED_DATA_CENTER_GPU } from '../../backends/null/modelled-gpu.js';
import { getBackend } from '../../core/backend-registry.js';
import type { Backend, BackendName } from '../../core/backend.js';
import { explainPlan } from '../../core/planner/explain.js';
import { calibrateKernelSides } from '../../app/host-calibration.js';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';
import { option, problemOf } from './support.js';

const CONFIG = 'Idle -> rt :: IPLookup(0/0 0) -> Discard;\n';
const profiles = [
  { kernel: 'ip-lookup', backend: 'cpu', perItemNs: 100, perBatchNs: 0, perByteTransferNs: 0, capacityBytes: 2 ** 34 },
  { kernel: 'ip-lookup', backend: 'null', ...MODELLED_DATA_CENTER_GPU },
];
const hostElements = { default: { perItemNs: 0, perBatchNs: 0 }, byClass: {} };
const SIDE = { 'IPLookup@null': { perItemNs: 5, perBatchNs: 25_000 } };

function planAt(batch: number, hostSide: Record<string, { perItemNs: number; perBatchNs: number }>) {
  return explainPlan(problemOf(CONFIG, { profiles, hostElements, hostSide }, [option('cpu'), option('null')]), { objective: 'throughput', batch, splits: true });
}

const stage = (p: ReturnType<typeof planAt>['chosen'], name: string): number => p.prediction.stages.find((s) => s.name === name)!.nsPerBatch;

describe('the modelled GPU with its host side charged', () => {
  it('batch 256: the hand-off costs more than the lookup, so the CPU keeps it', () => {
    const r = planAt(256, SIDE);
    expect(r.chosen.placement.rt).toBe('cpu');
    expect(stage(r.chosen, 'cpu')).toBeCloseTo(25_600, 6);
    const offload = r.baselines.find((b) => b.placement.rt === 'null')!;
    expect(stage(offload, 'cpu')).toBeCloseTo(26_280, 6);
    expect(stage(offload, 'null')).toBeCloseTo(15_064, 6);
    expect(stage(offload, 'null transfers')).toBeCloseTo(0.05 * 12 * 256, 6);
    expect(offload.prediction.throughputPps).toBeCloseTo(256 / 26_280e-9, -2);
    // Uncharged, the same costs offload (the whole lookup: 256 / 15.064 µs = 16.99 Mpps; a split
    // with the CPU beats even that): what the bench predicted before.
    const blind = planAt(256, {});
    expect(blind.chosen.placement.rt).toMatch(/null/);
    expect(blind.baselines.find((b) => b.placement.rt === 'null')!.prediction.throughputPps).toBeCloseTo(256 / 15_064e-9, -2);
  });

  it('batch 4096: the hand-off is spread over enough packets, so the lookup goes to the GPU', () => {
    const r = planAt(4096, SIDE);
    expect(r.chosen.placement.rt).toBe('null');
    expect(stage(r.chosen, 'cpu')).toBeCloseTo(45_480, 6);
    expect(stage(r.chosen, 'null')).toBeCloseTo(16_024, 6);
    expect(r.chosen.prediction.throughputPps).toBeCloseTo(4096 / 45_480e-9, -2);
    const cpu = r.baselines.find((b) => b.placement.rt === 'cpu')!;
    expect(cpu.prediction.throughputPps).toBeCloseTo(4096 / 409_600e-9, -2);
  });
});

describe('a kernel element host side calibrated on a given device instance', () => {
  const gpu = new NullBackend({ description: 'modelled data-center GPU (test)', costs: { ...MODELLED_DATA_CENTER_GPU }, device: 'worker' });
  afterAll(() => gpu.dispose());

  it('runs every pipeline on that instance and fits its host side per batch size', async () => {
    let asked = 0;
    const backends = (name: BackendName): Promise<Backend> => {
      if (name !== 'null') return getBackend(name);
      asked++;
      return Promise.resolve(gpu);
    };
    const routes = path.join(PROJECT_ROOT, 'examples', 'routes.txt');
    const r = await calibrateKernelSides(
      [{ className: 'IPLookup', spec: `IPLookup(FIB "${routes}", FORMAT click)`, backend: 'null', device: 'modelled data-center GPU (test)', backendArg: 'null', kernelNs: () => 0, backends }],
      { capture: path.join(PROJECT_ROOT, 'examples', 'data', 'input.pcap'), batches: [64, 256], repeats: 2, replays: 2 },
    );
    expect(r.skipped).toEqual([]);
    expect(r.costs).toHaveLength(1);
    const c = r.costs[0];
    expect(c.backend).toBe('null');
    expect(c.samples.map((s) => s.batch)).toEqual([64, 256]);
    // No timing is asserted (a loaded machine): the figures exist, nothing was taken off for the kernel.
    for (const s of c.samples) {
      expect(s.kernelNs).toBe(0);
      expect(Number.isFinite(s.elementNs)).toBe(true);
      expect(s.ns).toBeGreaterThanOrEqual(0);
    }
    // Two probes per prefix, then per round and batch size one run with the element: all on this instance.
    expect(asked).toBeGreaterThanOrEqual(2 * 2 + 2 * 2);
  });
});
