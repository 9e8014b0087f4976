/**
 * The hardware's memory form: one even/odd-banked copy of the image per stage (what synthesis
 * maps to block RAM) must answer exactly like the simulator's shared array, i.e. like lookupImage.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { FpgaBackend } from '../../backends/fpga/index.js';
import { sampleAddresses } from './image-builder.js';
import { firstMismatch, linxFibs, multiFibOf, requireFpga } from './support.js';
import { imageCensus, layout2Inputs, layout2Tables } from '../kernels/layout2-images.js';

describe('banked per-stage memory (the synthesized form)', () => {
  const banked = new FpgaBackend({ sharedMemory: false, addressBits: 19, backPressure: { stallPermille: 250, gapPermille: 100, seed: 5 } });
  afterAll(async () => {
    await banked.dispose();
  });

  it('answers like lookupImage on LINX (3 FIBs) under back-pressure', async (ctx) => {
    if (!requireFpga(await banked.detect())) return ctx.skip();
    const linx = linxFibs();
    const mf = multiFibOf(linx);
    const image = mf.image.slice();
    const h = await banked.loadStructure('multi-fib-v4', image, mf.generation);
    const n = 8192;
    const dst = sampleAddresses(linx.flat(), n, 77);
    const vrf = new Int32Array(n).map((_v, i) => (i % 5) - 1);
    const out = new Int32Array(n);
    await banked.runKernel('ip-lookup', { count: n, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
    const want = new Int32Array(n).map((_v, i) => lookupImage(image, vrf[i], dst[i]));
    expect(firstMismatch(out, want, dst, vrf, n)).toBeNull();
    await expect(banked.readStructure(h)).rejects.toThrow(/shared-memory model/);
    await banked.releaseStructure(h);
  });

  it('answers like lookupImage on layout-2 images of every node shape (narrow and wide, both levels, records)', async (ctx) => {
    if (!requireFpga(await banked.detect())) return ctx.skip();
    const tables = layout2Tables();
    // The node header stages' 16-bank copy sees narrow and wide nodes at both levels.
    const census = tables.map((t) => imageCensus(t.image));
    for (const k of ['narrowNodes', 'wideNodes', 'narrowLevel2', 'wideLevel2', 'fullNodes'] as const) expect(census.some((c) => c[k] > 0), k).toBe(true);
    for (const [ti, t] of tables.entries()) {
      const h = await banked.loadStructure('multi-fib-v4', t.image.slice(), 1);
      const n = 8192;
      const { dst, vrf } = layout2Inputs(t, n, 40 + ti);
      const out = new Int32Array(n);
      await banked.runKernel('ip-lookup', { count: n, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
      const want = new Int32Array(n).map((_v, i) => lookupImage(t.image, vrf[i], dst[i]));
      expect(firstMismatch(out, want, dst, vrf, n), t.name).toBeNull();
      await banked.releaseStructure(h);
    }
  });
});
