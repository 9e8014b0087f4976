/**
 * With the costs of a real GPU (backends/null/modelled-gpu.ts) on the null backend's modelled
 * device, the planner sees them through calibration (as `hetbox calibrate --backends null` does:
 * the fit is over the device's modelled time) and offloads the lookup where that pays, keeping
 * it on the CPU below the device's crossover batch. Worked by hand, host Counter 100 ns/packet,
 * cpu lookup 11 ns/packet + 200 ns/batch (this machine's full-table figure, roughly):
 *   GPU lookup of B: 15 µs + 0.25 ns x B on the device, 12 bytes a packet x 0.05 ns on the bus
 *   (transfers go in the calibrated per-item cost: 0.25 + 0.6 = 0.85 ns).
 *   B = 1024: all-CPU 102.4 + 11.46 = 113.9 µs a batch (8.99 Mpps); offloaded the cpu stage is
 *             102.4 µs, the GPU 15.87 µs: 10.0 Mpps, so the lookup goes to the GPU.
 *   B = 32:   all-CPU 3.2 + 0.55 = 3.75 µs (8.5 Mpps); the GPU needs 15.03 µs a batch
 *             (2.1 Mpps), so the lookup stays on the CPU.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { NullBackend } from '../../backends/null/null-backend.js';
import { MODELLED_DATA_CENTER_GPU } from '../../backends/null/modelled-gpu.js';
import { calibrateKernel, type CalibratedProfile } from '../../core/planner/calibration.js';
import { explainPlan } from '../../core/planner/explain.js';
import { IP_LOOKUP, type IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { loadRoutes, multiFibOf, rng } from '../kernels/fixtures.js';
import { option, problemOf } from './support.js';

const CONFIG = 'Idle -> c :: Counter -> rt :: IPLookup(0/0 0) -> Discard;\n';
const costs = {
  profiles: [{ kernel: IP_LOOKUP, backend: 'cpu', perItemNs: 11, perBatchNs: 200, perByteTransferNs: 0, capacityBytes: 2 ** 34 }],
  hostElements: { default: { perItemNs: 0, perBatchNs: 0 }, byClass: { Counter: { perItemNs: 100, perBatchNs: 0 } } },
};

const gpu = new NullBackend({ description: 'modelled data-center GPU', costs: { ...MODELLED_DATA_CENTER_GPU }, device: 'worker' });
afterAll(() => gpu.dispose());

let calibrated: CalibratedProfile | null = null;
async function gpuProfile(): Promise<CalibratedProfile> {
  if (calibrated !== null) return calibrated;
  const mf = multiFibOf([loadRoutes('preprocessed-ipv4.rib.20170101.0000.txt', 20000)]);
  const r = rng(17);
  calibrated = await calibrateKernel(
    gpu,
    {
      kernel: IP_LOOKUP,
      data: 'a real RIB, random addresses',
      structures: [{ kind: 'multi-fib-v4', image: mf.image, generation: mf.generation }],
      params: {},
      io: (n): IpLookupIo => ({ count: n, inputs: { dst: Int32Array.from({ length: n }, () => r()), vrf: new Int32Array(n) }, outputs: { nextHop: new Int32Array(n) } }),
    },
    { batches: [32, 256, 1024, 4096], repeats: 3 },
  );
  return calibrated;
}

describe('the planner with a modelled real GPU', () => {
  it('calibrating the modelled device measures its configured costs, transfers in the per-item cost', async () => {
    const p = await gpuProfile();
    expect(p.perBatchNs).toBeCloseTo(15_000, 3);
    expect(p.perItemNs).toBeCloseTo(0.25 + 12 * 0.05, 6);
    expect(p.fit.relativeError).toBeLessThan(1e-9);
  });

  it('offloads the lookup at batch 1024 and keeps it on the CPU at batch 32', async () => {
    const p = await gpuProfile();
    const backends = () => [option('cpu'), { ...option('null'), costs: (k: string) => (k === IP_LOOKUP ? p : undefined) }];
    const big = explainPlan(problemOf(CONFIG, costs, backends()), { objective: 'throughput', batch: 1024 });
    expect(big.chosen.placement.rt).toBe('null');
    expect(big.chosen.prediction.throughputPps).toBeCloseTo(1024 / 102.4e-6, -3);
    const allCpu = big.baselines.find((b) => b.name === 'all-cpu')!;
    expect(allCpu.prediction.throughputPps).toBeCloseTo(1024 / ((102.4 + 11.264 + 0.2) * 1e-6), -3);
    const small = explainPlan(problemOf(CONFIG, costs, backends()), { objective: 'throughput', batch: 32 });
    expect(small.chosen.placement.rt).toBe('cpu');
    const rt = small.elements.find((e) => e.name === 'rt')!;
    const onGpu = rt.candidates.find((c) => c.backend === 'null')!;
    expect(onGpu.sources).toContain('calibrated');
    // The crossover: from this batch the GPU's lookup takes less time than the CPU's.
    expect(onGpu.crossoverBatch).toBe(Math.ceil((15_000 - 200) / (11 - 0.85)));
  });
});
