/**
 * A simulator that dies or hangs mid-batch: every in-flight batch rejects promptly with
 * BackendFailure (so the offload runner can redo it on the CPU), later calls fail the same way,
 * and nothing waits forever. The crash and the hang are real: the child is killed / stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendFailure } from '../../core/backend.js';
import { FpgaBackend } from '../../backends/fpga/index.js';
import { probeTools } from '../../hwsim/build.js';
import { buildImage, sampleAddresses } from './image-builder.js';
import { loadRoutes, requireFpga } from './support.js';

const routes = loadRoutes('mae-west.txt');
const image = buildImage([routes]).image;

function batch(n: number, seed: number): { count: number; inputs: { dst: Int32Array; vrf: Int32Array }; outputs: { nextHop: Int32Array } } {
  return { count: n, inputs: { dst: sampleAddresses(routes, n, seed), vrf: new Int32Array(n) }, outputs: { nextHop: new Int32Array(n) } };
}

describe('fpga simulator failures', () => {
  // Heavy back-pressure keeps batches in the simulator long enough to be caught mid-flight.
  const backend = new FpgaBackend({ backPressure: { stallPermille: 990, gapPermille: 0, seed: 3 }, timeoutMs: 1500 });
  let ok = false;
  beforeAll(async () => {
    ok = requireFpga(await backend.detect());
  });
  afterAll(async () => {
    await backend.dispose();
  });

  it('a killed simulator rejects every in-flight batch with BackendFailure, promptly', async (ctx) => {
    if (!ok) return ctx.skip();
    const h = await backend.loadStructure('multi-fib-v4', image.slice(), 1);
    const sim = backend.simulatorOf(h);
    const runs = [0, 1, 2, 3, 4, 5].map((k) => backend.runKernel('ip-lookup', batch(65536, 10 + k), [h]));
    const settled = Promise.allSettled(runs);
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.outstanding).toBeGreaterThan(0);
    const t0 = performance.now();
    sim.kill('SIGKILL');
    const results = await settled;
    const ms = performance.now() - t0;
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(BackendFailure);
        expect(String(r.reason.message)).toMatch(/fpga: simulator was killed by SIGKILL/);
      }
    }
    console.info(`fpga crash: ${results.length} batches rejected ${ms.toFixed(0)} ms after the kill`);
    // Well inside the hang timeout: the exit itself was noticed.
    expect(ms).toBeLessThan(1500);
    await expect(backend.runKernel('ip-lookup', batch(16, 99), [h])).rejects.toBeInstanceOf(BackendFailure);
    await expect(backend.applyDelta(h, { kind: 'multi-fib-v4', fromGeneration: 1, toGeneration: 2, length: image.length, writes: [{ offset: 20, words: Uint32Array.of(1) }] })).rejects.toBeInstanceOf(BackendFailure);
    await backend.releaseStructure(h);
  });

  it('a hung simulator (stopped) is detected by the timeout and its batches reject with BackendFailure', async (ctx) => {
    if (!ok) return ctx.skip();
    const h = await backend.loadStructure('multi-fib-v4', image.slice(), 1);
    const sim = backend.simulatorOf(h);
    const runs = [0, 1, 2].map((k) => backend.runKernel('ip-lookup', batch(65536, 20 + k), [h]));
    const settled = Promise.allSettled(runs);
    await new Promise((r) => setTimeout(r, 50));
    sim.kill('SIGSTOP');
    const results = await settled;
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(BackendFailure);
        expect(String(r.reason.message)).toMatch(/hung: no reply for \d+ ms/);
      }
    }
    await backend.releaseStructure(h);
  });

  it('missing tools make the reason plain (detect() reports it instead of throwing)', async () => {
    await expect(probeTools({ PATH: '/nonexistent' })).rejects.toThrow(/'verilator' is not installed \(install Debian package `verilator`/);
  });
});
