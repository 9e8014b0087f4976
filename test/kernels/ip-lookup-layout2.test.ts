/**
 * Every registered form of kernel `ip-lookup` (cpu, null, webgpu, gpujs in its three modes, fpga
 * via Verilator) against `lookupImage` on layout-2 images made by the fpga tests' own builder
 * (test/kernels/layout2-images.ts): narrow and wide nodes at both levels, NO_ROUTE halves, odd
 * and full run counts, next hops that force wide nodes, records in L0 and in nodes, over real
 * route tables and generated edge cases. This tests the device forms of layout 2 independently
 * of the MultiFib builder; the kernel suite covers MultiFib's own images.
 *
 * Under CI=true an unavailable backend fails; elsewhere its forms skip with a loud warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../core/backend.js';
import { backendAvailability, disposeBackends, getBackend, loadAllBackends } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup/index.js';
import { lookupImage, nodeEntry } from '../../core/structures/multi-fib/image-format.js';
import { withSelfLoopNode } from '../fpga/image-builder.js';
import { imageCensus, layout2Inputs, layout2Tables, type ImageCensus } from './layout2-images.js';

await loadAllBackends();

const CI = process.env.CI === 'true';
const BATCH_SIZES = [1, 7, 4096, 20000];
// The fpga form's Verilator model is built on first use when the RTL changed (minutes on a busy machine).
const FIRST_USE_TIMEOUT_MS = 420_000;

const tables = layout2Tables();

it('the layout-2 fixtures hold every node shape the walk distinguishes', () => {
  const total: ImageCensus = tables.map((t) => imageCensus(t.image)).reduce((a, c) => {
    for (const k of Object.keys(a) as (keyof ImageCensus)[]) a[k] += c[k];
    return a;
  });
  for (const [k, v] of Object.entries(total)) expect(v, `${k} over all layout-2 fixtures`).toBeGreaterThan(0);
  // The edge-case table alone: one full node of 256 runs and one of 255 (both narrow).
  const edge = imageCensus(tables[0].image);
  expect(edge.fullNodes).toBeGreaterThanOrEqual(2);
  expect(edge.narrowOddRuns).toBeGreaterThanOrEqual(2);
});

for (const form of kernelRegistry.backendsFor(IP_LOOKUP)) {
  const label = form.variant === undefined ? form.backend : `${form.backend}/${form.variant}`;
  describe(`ip-lookup on ${label}, layout-2 images`, () => {
    let backend: Backend | null = null;
    beforeAll(async () => {
      const a = await backendAvailability(form.backend, form.variant);
      if (a.available) backend = await getBackend(form.backend, form.variant);
      else if (CI) throw new Error(`CI: backend ${label} must be available here: ${a.reason}`);
      else console.warn(`\n!!! SKIPPING layout-2 ip-lookup on ${label}: ${a.reason}\n`);
    });

    for (const [ti, t] of tables.entries()) {
      it(`matches lookupImage: ${t.name}, batches ${BATCH_SIZES.join('/')}`, { timeout: FIRST_USE_TIMEOUT_MS }, async (ctx) => {
        if (backend === null) return ctx.skip();
        const h = await backend.loadStructure('multi-fib-v4', t.image.slice(), 1);
        try {
          let routed = 0;
          for (const [k, n] of BATCH_SIZES.entries()) {
            const { dst, vrf } = layout2Inputs(t, n, 10 * ti + k);
            const got = new Int32Array(n).fill(0x5a5a5a5a);
            await backend.runKernel(IP_LOOKUP, { count: n, inputs: { dst, vrf }, outputs: { nextHop: got } }, [h]);
            for (let i = 0; i < n; i++) {
              const want = lookupImage(t.image, vrf[i], dst[i]);
              if (want >= 0) routed++;
              if (got[i] !== want) {
                expect.fail(`${label}, ${t.name}, batch ${n}, item ${i} (dst 0x${(dst[i] >>> 0).toString(16)}, vrf ${vrf[i]}): got ${got[i]}, lookupImage ${want}`);
              }
            }
          }
          // Real answers, not only "no route".
          expect(routed).toBeGreaterThan(1000);
        } finally {
          await backend.releaseStructure(h);
        }
      });
    }
  });
}

/**
 * A malformed image whose node points at itself (an endless walk for an unbounded loop): the GPU
 * forms bound their walks (webgpu at 4 node levels, gpu.js at 2), so the batch returns. The
 * fpga form faults on it (test/fpga/pipeline.test.ts); the CPU reference stops at the same bound
 * as webgpu (MAX_NODE_LEVELS).
 */
function selfLoopImage(): Uint32Array {
  return withSelfLoopNode(tables[0].image, nodeEntry);
}

it('the CPU reference lookupImage returns on a malformed image whose node points at itself', () => {
  const img = selfLoopImage();
  // The looping addresses end on the node entry the bound leaves (not an answer); the rest are right.
  expect(lookupImage(img, 0, 0x0a0b0000) >>> 30).toBeGreaterThanOrEqual(2);
  expect(lookupImage(img, 0, 0x0a000700)).toBe(5);
});

for (const form of kernelRegistry.backendsFor(IP_LOOKUP).filter((f) => f.backend === 'webgpu' || f.backend === 'gpujs')) {
  const label = form.variant === undefined ? form.backend : `${form.backend}/${form.variant}`;
  it(`ip-lookup on ${label} returns on a malformed image whose node points at itself`, async (ctx) => {
    const a = await backendAvailability(form.backend, form.variant);
    if (!a.available) {
      if (CI) throw new Error(`CI: backend ${label} must be available here: ${a.reason}`);
      return ctx.skip();
    }
    const backend = await getBackend(form.backend, form.variant);
    const img = selfLoopImage();
    const h = await backend.loadStructure('multi-fib-v4', img, 1);
    try {
      const dst = Int32Array.of(0x0a0b0000, 0x0a0b0101, 0x0a000700);
      const vrf = Int32Array.of(0, 0, 0);
      const got = new Int32Array(3).fill(0x5a5a5a5a);
      await backend.runKernel(IP_LOOKUP, { count: 3, inputs: { dst, vrf }, outputs: { nextHop: got } }, [h]);
      // The loop's answers are whatever the bound leaves; the valid part of the image still answers right.
      expect(got[2]).toBe(lookupImage(img, 0, dst[2]));
      expect(got[2]).toBe(5);
    } finally {
      await backend.releaseStructure(h);
    }
  });
}

afterAll(async () => {
  await disposeBackends();
});
