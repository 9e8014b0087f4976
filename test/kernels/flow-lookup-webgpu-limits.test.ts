/**
 * WebGPU flow-lookup on a device that offers only the WebGPU spec's default of 8 storage
 * bindings per shader stage: the program packs its ten key columns into one binding, so it
 * runs there (3 bindings) and answers exactly like the CPU reference on real and generated flows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../backends/webgpu/index.js';
import { FLOW_LOOKUP_WGSL } from '../../backends/webgpu/kernels/flow-lookup.js';
import { KEY_WORDS } from '../../core/flows/flow-key.js';
import { FLOW_LOOKUP, FLOW_MISS, flowLookupReference } from '../../core/kernels/flow-lookup/index.js';
import { FlowTable } from '../../core/structures/flow-table/flow-table.js';
import { FLOW_TABLE } from '../../core/structures/flow-table/flow-table-image.js';
import { capturePackets, generatedKey, generatedKey6, lookupBatch, randomKeys } from './flow-fixtures.js';

const SPEC_DEFAULT_STORAGE_BUFFERS = 8;

describe('flow-lookup on a WebGPU device limited to the spec default of 8 storage bindings', () => {
  const gpu = new WebGpuBackend({ maxStorageBuffersPerShaderStage: SPEC_DEFAULT_STORAGE_BUFFERS });
  afterAll(async () => {
    await gpu.dispose();
  });

  it('packs the key columns (3 bindings) and matches flowLookup on the captures and IPv4/IPv6 generated flows', async (ctx) => {
    const a = await gpu.detect();
    if (!a.available) {
      if (process.env.CI === 'true') throw new Error(`CI: webgpu must be available: ${a.reason}`);
      console.warn(`\n!!! SKIPPING webgpu binding-limit test: ${a.reason}\n`);
      return ctx.skip();
    }
    expect(gpu.gpuDevice().limits.maxStorageBuffersPerShaderStage).toBe(SPEC_DEFAULT_STORAGE_BUFFERS);
    expect(FLOW_LOOKUP_WGSL.packInputs).toBe(true);
    expect(1 + FLOW_LOOKUP_WGSL.outputs.length + FLOW_LOOKUP_WGSL.extra.length).toBeLessThanOrEqual(SPEC_DEFAULT_STORAGE_BUFFERS);

    const c = capturePackets();
    const table = new FlowTable({ capacity: 2048, seed: 0xbeef });
    for (let i = 0; i < c.count; i++) table.classify(c.keys, i * KEY_WORDS, c.reversed[i] === 1, 0, i * 1000, c.tcpFlags[i]);
    const gen = new Uint32Array(600 * KEY_WORDS);
    for (let n = 0; n < 300; n++) {
      gen.set(generatedKey(n), n * KEY_WORDS);
      gen.set(generatedKey6(n), (300 + n) * KEY_WORDS);
    }
    for (let i = 0; i < 600; i++) table.classify(gen, i * KEY_WORDS, false, 1, i, 0);
    const h = await gpu.loadStructure(FLOW_TABLE, table.image.slice(), 0);
    try {
      for (const n of [1, 300, 5000]) {
        const { io } = lookupBatch([c.keys, gen, randomKeys(500, n)], n, 60 + n);
        const want = new Int32Array(n);
        flowLookupReference(table.image, { ...io, outputs: { entry: want } });
        if (n >= 300) expect(want.some((e) => e === FLOW_MISS) && want.some((e) => e !== FLOW_MISS)).toBe(true);
        await gpu.runKernel(FLOW_LOOKUP, io, [h]);
        expect(Array.from(io.outputs.entry)).toEqual(Array.from(want));
      }
    } finally {
      await gpu.releaseStructure(h);
    }
  });
});
