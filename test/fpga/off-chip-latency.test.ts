/**
 * The off-chip memory model: every memory stage takes `memoryLatency` cycles (ip_lookup_delay lines), so
 * the latency grows to stages x memoryLatency while the rate stays one lookup per cycle and the
 * answers stay lookupImage's, back-pressure included.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { FpgaBackend } from '../../backends/fpga/index.js';
import { pipelineShape } from '../../hwsim/build.js';
import { sampleAddresses } from './image-builder.js';
import { firstMismatch, linxFibs, multiFibOf, requireFpga } from './support.js';
import { layout2Inputs, layout2Tables } from '../kernels/layout2-images.js';

describe('memoryLatency 3 (off-chip SRAM model)', () => {
  const plain = new FpgaBackend({ memoryLatency: 3, addressBits: 20 });
  const stalled = new FpgaBackend({ memoryLatency: 3, addressBits: 20, backPressure: { stallPermille: 300, gapPermille: 300, seed: 9 } });
  afterAll(async () => {
    await plain.dispose();
    await stalled.dispose();
  });

  it('keeps one lookup per cycle at latency stages x 3 and matches lookupImage under back-pressure', async (ctx) => {
    if (!requireFpga(await plain.detect()) || !requireFpga(await stalled.detect())) return ctx.skip();
    const linx = linxFibs();
    const mf = multiFibOf(linx);
    const image = mf.image.slice();
    const n = 4096;
    const dst = sampleAddresses(linx.flat(), n, 123);
    const vrf = new Int32Array(n).map((_v, i) => (i % 5) - 1);
    const want = new Int32Array(n).map((_v, i) => lookupImage(image, vrf[i], dst[i]));
    const shape = pipelineShape(plain.params);
    expect(shape.latency).toBe(3 * shape.stages);
    for (const b of [plain, stalled]) {
      const h = await b.loadStructure('multi-fib-v4', image, mf.generation);
      const out = new Int32Array(n);
      const s = await b.runKernel('ip-lookup', { count: n, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
      expect(firstMismatch(out, want, dst, vrf, n)).toBeNull();
      if (b === plain) expect(s.device).toMatchObject({ issueCycles: n, cycles: n + shape.latency, latencyCycles: shape.latency, minLatencyCycles: shape.latency });
      else expect(s.device!.issueCycles).toBeGreaterThan(n);
      await b.releaseStructure(h);
    }
  });

  it('carries the narrow half-select through the latency lines: layout-2 images under back-pressure', async (ctx) => {
    if (!requireFpga(await stalled.detect())) return ctx.skip();
    for (const [ti, t] of layout2Tables().entries()) {
      const h = await stalled.loadStructure('multi-fib-v4', t.image.slice(), 1);
      const n = 4096;
      const { dst, vrf } = layout2Inputs(t, n, 60 + ti);
      const out = new Int32Array(n);
      await stalled.runKernel('ip-lookup', { count: n, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
      const want = new Int32Array(n).map((_v, i) => lookupImage(t.image, vrf[i], dst[i]));
      expect(firstMismatch(out, want, dst, vrf, n), t.name).toBeNull();
      await stalled.releaseStructure(h);
    }
  });
});
