/**
 * The flow kernels' RTL (hwsim/rtl/flow_lookup*.v, flow_hash.v): lint clean in every memory form,
 * cached per design (a flow design's sources do not touch ip_lookup's cache key, nor the other
 * way round), and the simulated flow_lookup pipeline's figures and limits: one lookup per clock
 * at the latency it reports, exact answers under random back-pressure, and a table wider than
 * its compare stages faulting to BackendFailure rather than answering wrong. (The answers on
 * real flows are the shared kernel suite's: test/kernels/kernel-suite.test.ts runs every fpga
 * form against the CPU reference.)
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendFailure } from '../../core/backend.js';
import { KEY_WORDS } from '../../core/flows/flow-key.js';
import { FLOW_LOOKUP, FLOW_MISS, flowLookupReference } from '../../core/kernels/flow-lookup/index.js';
import { FLOW_HASH, flowHashReference } from '../../core/kernels/flow-hash/index.js';
import { FlowTable } from '../../core/structures/flow-table/flow-table.js';
import { FLOW_TABLE, FLOW_TABLE_LAYOUT, FLOW_TABLE_MAGIC, H_BUCKETS, H_ENTRY_WORDS, H_KEY_WORDS, H_LAYOUT, H_MAGIC, H_SEED, H_SLOTS, HEADER_WORDS, ENTRY_USED, E_KEY } from '../../core/structures/flow-table/flow-table-image.js';
import { FpgaBackend } from '../../backends/fpga/index.js';
import { buildFlowSimulator, buildKey, DEFAULT_FLOW_SIM_PARAMS, DEFAULT_SIM_PARAMS, flowBuildKey, flowPipelineShape, lintFlowRtl, projectRoot, toolVersions } from '../../hwsim/build.js';
import { generatedKey, generatedKey6, lookupBatch, randomKeys } from '../kernels/flow-fixtures.js';
import { requireFpga } from './support.js';

/** The hardware's memory form (16-bank copy per compare stage) at a small memory: what synthesis maps. */
const BANKED = { addressBits: 18, maxSlots: 8, sharedMemory: false };

let tools = false;
beforeAll(async () => {
  try {
    await toolVersions();
    tools = true;
  } catch (e) {
    tools = requireFpga({ available: false, reason: (e as Error).message });
  }
  // The models, built here (about 3 minutes each on a cold cache, nothing when cached) rather than
  // inside a test's own time limit.
  if (tools) await Promise.all([buildFlowSimulator('flow_lookup'), buildFlowSimulator('flow_hash'), buildFlowSimulator('flow_lookup', BANKED)]);
}, 900_000);

describe('flow RTL', () => {
  it('flow_lookup and flow_hash are verilator --lint-only -Wall clean in every memory form and at other parameters', async (ctx) => {
    if (!tools) return ctx.skip();
    for (const p of [
      DEFAULT_FLOW_SIM_PARAMS,
      { ...DEFAULT_FLOW_SIM_PARAMS, sharedMemory: false },
      { addressBits: 12, maxSlots: 3, sharedMemory: false },
      { addressBits: 20, maxSlots: 16, sharedMemory: true },
    ]) {
      const r = await lintFlowRtl('flow_lookup', p);
      expect(r.output, JSON.stringify(p)).toBe('');
      expect(r.ok).toBe(true);
    }
    const h = await lintFlowRtl('flow_hash');
    expect(h.output).toBe('');
  });

  it("each design's cache key follows its own sources only", async (ctx) => {
    if (!tools) return ctx.skip();
    const root = mkdtempSync(path.join(os.tmpdir(), 'hetbox-flowkey-'));
    try {
      for (const d of ['rtl', 'harness']) {
        mkdirSync(path.join(root, 'hwsim'), { recursive: true });
        cpSync(path.join(projectRoot(), 'hwsim', d), path.join(root, 'hwsim', d), { recursive: true });
      }
      const before = { ip: await buildKey(DEFAULT_SIM_PARAMS, root), lookup: await flowBuildKey('flow_lookup', DEFAULT_FLOW_SIM_PARAMS, root), hash: await flowBuildKey('flow_hash', DEFAULT_FLOW_SIM_PARAMS, root) };
      expect(new Set(Object.values(before)).size).toBe(3);
      // flow_hash does not depend on flow_lookup's memory parameters; flow_lookup does.
      expect(await flowBuildKey('flow_hash', { addressBits: 12, maxSlots: 2 }, root)).toBe(before.hash);
      expect(await flowBuildKey('flow_lookup', { addressBits: 12, maxSlots: 2 }, root)).not.toBe(before.lookup);
      const f = path.join(root, 'hwsim', 'rtl', 'flow_lookup.v');
      writeFileSync(f, `${readFileSync(f, 'utf8')}\n// edited\n`);
      expect(await buildKey(DEFAULT_SIM_PARAMS, root)).toBe(before.ip);
      expect(await flowBuildKey('flow_hash', DEFAULT_FLOW_SIM_PARAMS, root)).toBe(before.hash);
      expect(await flowBuildKey('flow_lookup', DEFAULT_FLOW_SIM_PARAMS, root)).not.toBe(before.lookup);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** IPv4 and IPv6 keys in a small table: hits on both families, misses beside them. */
function mixedTable(): { table: FlowTable; pools: Uint32Array[] } {
  const table = new FlowTable({ capacity: 512, seed: 0xf10e });
  const v4 = new Uint32Array(200 * KEY_WORDS);
  const v6 = new Uint32Array(200 * KEY_WORDS);
  for (let n = 0; n < 200; n++) {
    v4.set(generatedKey(n), n * KEY_WORDS);
    v6.set(generatedKey6(n), n * KEY_WORDS);
  }
  for (let i = 0; i < 200; i++) {
    table.classify(v4, i * KEY_WORDS, false, 0, i, 0);
    table.classify(v6, i * KEY_WORDS, false, 0, 1000 + i, 0);
  }
  const missing6 = new Uint32Array(50 * KEY_WORDS);
  for (let n = 0; n < 50; n++) missing6.set(generatedKey6(10_000 + n), n * KEY_WORDS);
  return { table, pools: [v4, v6, missing6, randomKeys(50, 4)] };
}

describe('flow_lookup pipeline (simulated)', () => {
  const plain = new FpgaBackend();
  const stalled = new FpgaBackend({ backPressure: { stallPermille: 300, gapPermille: 150, seed: 9 } });
  const banked = new FpgaBackend({ flow: BANKED, backPressure: { stallPermille: 200, gapPermille: 100, seed: 3 } });
  afterAll(async () => {
    await Promise.all([plain.dispose(), stalled.dispose(), banked.dispose()]);
  });

  it('the banked memory form (synthesis) answers like flowLookup under back-pressure, and cannot be read back', async (ctx) => {
    if (!requireFpga(await banked.detect())) return ctx.skip();
    const { table, pools } = mixedTable();
    const h = await banked.loadStructure(FLOW_TABLE, table.image.slice(), 0);
    try {
      const { io } = lookupBatch(pools, 4000, 43);
      const want = new Int32Array(io.count);
      flowLookupReference(table.image, { ...io, outputs: { entry: want } });
      expect(want.some((e) => e === FLOW_MISS) && want.some((e) => e !== FLOW_MISS)).toBe(true);
      await banked.runKernel(FLOW_LOOKUP, io, [h]);
      expect(Array.from(io.outputs.entry)).toEqual(Array.from(want));
      await expect(banked.readStructure(h)).rejects.toThrow(/shared-memory model/);
    } finally {
      await banked.releaseStructure(h);
    }
  });

  it('one lookup per clock at the latency it reports, and exact under random back-pressure', async (ctx) => {
    if (!requireFpga(await plain.detect())) return ctx.skip();
    const { table, pools } = mixedTable();
    const shape = flowPipelineShape('flow_lookup', DEFAULT_FLOW_SIM_PARAMS as { maxSlots: number });
    for (const [backend, free] of [[plain, true], [stalled, false]] as const) {
      const h = await backend.loadStructure(FLOW_TABLE, table.image.slice(), 0);
      try {
        const { io } = lookupBatch(pools, 3000, 41);
        const want = new Int32Array(io.count);
        flowLookupReference(table.image, { ...io, outputs: { entry: want } });
        const hits = want.filter((e) => e !== FLOW_MISS).length;
        expect(hits > 1000 && hits < io.count, `${hits} hits`).toBe(true);
        const stats = await backend.runKernel(FLOW_LOOKUP, io, [h]);
        expect(Array.from(io.outputs.entry)).toEqual(Array.from(want));
        const d = stats.device ?? {};
        if (free) {
          expect(d.minLatencyCycles).toBe(shape.latency);
          expect(d.latencyCycles).toBe(shape.latency);
          expect(d.issueCycles).toBe(io.count);
          expect(d.cycles).toBe(io.count + shape.latency);
        } else {
          // Stalls hold every stage: results wait, so some take longer than the pipeline's latency.
          expect(d.minLatencyCycles).toBeGreaterThanOrEqual(shape.latency);
          expect(d.latencyCycles).toBeGreaterThan(shape.latency);
          expect(d.issueCycles).toBeGreaterThan(io.count);
        }
      } finally {
        await backend.releaseStructure(h);
      }
    }
  });

  it('a table with more slots per bucket than its compare stages faults (BackendFailure), never answers wrong', async (ctx) => {
    if (!requireFpga(await plain.detect())) return ctx.skip();
    // One bucket of maxSlots + 1 slots, the key in the last one: the unrolled compare never reaches it.
    const slots = (DEFAULT_FLOW_SIM_PARAMS.maxSlots ?? 8) + 1;
    const ew = 16;
    const image = new Uint32Array(HEADER_WORDS + slots * ew);
    image[H_MAGIC] = FLOW_TABLE_MAGIC;
    image[H_LAYOUT] = FLOW_TABLE_LAYOUT;
    image[H_BUCKETS] = 1;
    image[H_SLOTS] = slots;
    image[H_ENTRY_WORDS] = ew;
    image[H_KEY_WORDS] = KEY_WORDS;
    image[H_SEED] = 5;
    const key = generatedKey(7);
    const last = HEADER_WORDS + (slots - 1) * ew;
    image[last] = ENTRY_USED;
    image.set(key, last + E_KEY);
    const want = new Int32Array(1);
    flowLookupReference(image, { count: 1, inputs: lookupBatch([key], 1, 1).io.inputs, outputs: { entry: want } });
    expect(want[0]).toBe(slots - 1);
    const h = await plain.loadStructure(FLOW_TABLE, image, 0);
    try {
      const { io } = lookupBatch([key], 4, 2);
      const run = plain.runKernel(FLOW_LOOKUP, io, [h]);
      await expect(run).rejects.toBeInstanceOf(BackendFailure);
      await expect(run).rejects.toThrow(/more than 8 slots per bucket/);
    } finally {
      await plain.releaseStructure(h);
    }
  });

  it('flow_hash: one hash per clock, latency 1, exact under back-pressure', async (ctx) => {
    if (!requireFpga(await stalled.detect())) return ctx.skip();
    const n = 2000;
    const io = { count: n, inputs: { src: new Int32Array(n), dst: new Int32Array(n), ports: new Int32Array(n), proto: new Int32Array(n) }, outputs: { flow: new Int32Array(n) } };
    const keys = randomKeys(n, 77);
    for (let i = 0; i < n; i++) {
      io.inputs.src[i] = keys[i * KEY_WORDS];
      io.inputs.dst[i] = keys[i * KEY_WORDS + 1];
      io.inputs.ports[i] = keys[i * KEY_WORDS + 2];
      io.inputs.proto[i] = [6, 17, 1, 58, 0][i % 5];
    }
    const want = new Int32Array(n);
    flowHashReference({ ...io, outputs: { flow: want } });
    for (const backend of [plain, stalled]) {
      io.outputs.flow.fill(0);
      const stats = await backend.runKernel(FLOW_HASH, io, []);
      expect(Array.from(io.outputs.flow)).toEqual(Array.from(want));
      expect(stats.device?.minLatencyCycles).toBe(flowPipelineShape('flow_hash', { maxSlots: 0 }).latency);
    }
  });
});
