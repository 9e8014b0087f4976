/**
 * The simulated ip_lookup pipeline against lookupImage (the CPU reference) on real tables, with
 * random back-pressure injected by the harness, several batches in flight, and deltas applied
 * through the write port between batches and while batches flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendFailure, type StructureHandle } from '../../core/backend.js';
import type { ImageDelta } from '../../core/structures/image.js';
import { H_L0, HEADER_WORDS, lookupImage, narrowNodeEntry } from '../../core/structures/multi-fib/image-format.js';
import { FpgaBackend } from '../../backends/fpga/index.js';
import { pipelineShape } from '../../hwsim/build.js';
import { buildImage, sampleAddresses, withSelfLoopNode, type Route } from './image-builder.js';
import { firstMismatch, linxFibs, loadRoutes, multiFibOf, requireFpga, seeded } from './support.js';

const linx = linxFibs();
const maeWest = loadRoutes('mae-west.txt');

function reference(image: Uint32Array, dst: Int32Array, vrf: Int32Array): Int32Array {
  const out = new Int32Array(dst.length);
  for (let i = 0; i < dst.length; i++) out[i] = lookupImage(image, vrf[i], dst[i]);
  return out;
}

/** Addresses from the routes and uniform ones; FIBs 0..k-1 plus -1 and k (no such FIB). */
function inputs(routes: readonly Route[], fibs: number, n: number, seed: number): { dst: Int32Array; vrf: Int32Array } {
  const dst = sampleAddresses(routes, n, seed);
  const r = seeded(seed * 31 + 1);
  const vrf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const f = r() % (fibs + 2);
    vrf[i] = f === fibs + 1 ? -1 : f;
  }
  return { dst, vrf };
}

describe('ip_lookup pipeline (Verilator)', () => {
  const stalled = new FpgaBackend({ backPressure: { stallPermille: 300, gapPermille: 200, seed: 7 } });
  const plain = new FpgaBackend();
  let ok = false;

  beforeAll(async () => {
    ok = requireFpga(await stalled.detect()) && requireFpga(await plain.detect());
  });
  afterAll(async () => {
    await stalled.dispose();
    await plain.dispose();
  });

  it('equals lookupImage on LINX (3 FIBs) and MAE-West with random back-pressure, 6 batches in flight', async (ctx) => {
    if (!ok) return ctx.skip();
    for (const [name, fibs] of [['LINX x3', linx], ['MAE-West', [maeWest]]] as const) {
      const mf = multiFibOf(fibs);
      const image = mf.image.slice();
      const h = await stalled.loadStructure('multi-fib-v4', image, mf.generation);
      const all = fibs.flat();
      const batches = [1, 4096, 777, 4096, 4096, 2048].map((n, k) => inputs(all, fibs.length, n, 100 + k));
      const outs = batches.map((b) => new Int32Array(b.dst.length).fill(0x5a5a5a5a));
      // All at once: the backend keeps 4 in the simulator and queues the rest.
      const stats = await Promise.all(
        batches.map((b, k) => stalled.runKernel('ip-lookup', { count: b.dst.length, inputs: { dst: b.dst, vrf: b.vrf }, outputs: { nextHop: outs[k] } }, [h])),
      );
      let routed = 0;
      batches.forEach((b, k) => {
        const want = reference(image, b.dst, b.vrf);
        expect(firstMismatch(outs[k], want, b.dst, b.vrf, b.dst.length), `${name} batch ${k}`).toBeNull();
        routed += want.filter((v) => v >= 0).length;
      });
      // The inputs exercise real routes, not just "no route".
      expect(routed).toBeGreaterThan(1000);
      // Back-pressure was really there: issuing 4096 requests took more than 4096 cycles.
      expect(stats[1].device!.issueCycles).toBeGreaterThan(4096);
      await stalled.releaseStructure(h);
    }
  });

  it('takes one lookup per cycle at a fixed latency when nothing stalls', async (ctx) => {
    if (!ok) return ctx.skip();
    // Layout-2 image from the tests' own builder (narrow and wide nodes): the latency is the same for every entry kind.
    const image = buildImage(linx).image;
    const h = await plain.loadStructure('multi-fib-v4', image.slice(), 1);
    const { dst, vrf } = inputs(linx[0], 3, 4096, 5);
    const out = new Int32Array(4096);
    const s = await plain.runKernel('ip-lookup', { count: 4096, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
    const shape = pipelineShape(plain.params);
    expect(s.device).toMatchObject({ issueCycles: 4096, latencyCycles: shape.latency, minLatencyCycles: shape.latency, cyclesPerLookup: 1 });
    expect(s.device!.cycles).toBe(4096 + shape.latency);
    expect(firstMismatch(out, reference(image, dst, vrf), dst, vrf, 4096)).toBeNull();
    await plain.releaseStructure(h);
  });

  it('follows MultiFib deltas between batches and reads back the same image', async (ctx) => {
    if (!ok) return ctx.skip();
    const mf = multiFibOf([linx[0].slice(0, 15000), linx[1].slice(0, 15000)]);
    const deltas: ImageDelta[] = [];
    mf.onDelta((d) => deltas.push(d));
    const h: StructureHandle = await stalled.loadStructure('multi-fib-v4', mf.image.slice(), mf.generation);
    const r = seeded(11);
    for (let step = 0; step < 4; step++) {
      for (let j = 0; j < 30; j++) {
        const len = [24, 32, 20, 28, 16][j % 5];
        mf.replace(r() % 2, (r() & (0xffffffff << (32 - len))) >>> 0, len, 900 + step * 50 + j);
      }
      if (step === 2) mf.replace(0, 0, 0, 42);
      expect(deltas.length).toBeGreaterThan(0);
      for (const d of deltas.splice(0)) await stalled.applyDelta(h, d);
      expect(h.generation).toBe(mf.generation);
      const { dst, vrf } = inputs(linx[0], 2, 4096, 200 + step);
      const out = new Int32Array(4096);
      await stalled.runKernel('ip-lookup', { count: 4096, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
      expect(firstMismatch(out, reference(mf.image, dst, vrf), dst, vrf, 4096), `after delta step ${step}`).toBeNull();
    }
    const back = await stalled.readStructure(h);
    expect(back.length).toBe(h.words);
    expect(Buffer.from(back.buffer, back.byteOffset, h.words * 4).equals(Buffer.from(mf.image.buffer, mf.image.byteOffset, h.words * 4))).toBe(true);
    await expect(stalled.applyDelta(h, { kind: 'multi-fib-v4', fromGeneration: h.generation + 3, toGeneration: h.generation + 4, length: 16, writes: [] })).rejects.toThrow(/generation/);
    await stalled.releaseStructure(h);
  });

  it('flips to a new table atomically while batches flow: every lookup answers old or new, switching once', async (ctx) => {
    if (!ok) return ctx.skip();
    // Old: LINX snapshots 1-2; new: snapshots 2-3, built beside it and published by the header write.
    const old = buildImage([linx[0], linx[1]]).image;
    const next = buildImage([linx[1], linx[2]], { origin: old.length, generation: 2 }).image;
    const delta: ImageDelta = {
      kind: 'multi-fib-v4',
      fromGeneration: 1,
      toGeneration: 2,
      length: next.length,
      writes: [
        { offset: old.length, words: next.subarray(old.length) },
        { offset: 0, words: next.subarray(0, HEADER_WORDS) },
      ],
    };
    expect(next[H_L0]).toBe(old.length);
    const h = await stalled.loadStructure('multi-fib-v4', old.slice(), 1);
    // The new version's own reference: its words over the old image.
    const afterImage = next.slice();
    afterImage.set(old.subarray(HEADER_WORDS), HEADER_WORDS);
    const routes = [...linx[0], ...linx[2]];
    const batches: { dst: Int32Array; vrf: Int32Array }[] = [];
    const outs: Int32Array[] = [];
    const run = (k: number): Promise<unknown> =>
      stalled.runKernel('ip-lookup', { count: 4096, inputs: batches[k], outputs: { nextHop: outs[k] } }, [h]);
    const submit = (): Promise<unknown> => {
      batches.push(inputs(routes, 2, 4096, 300 + batches.length));
      outs.push(new Int32Array(4096));
      return run(batches.length - 1);
    };
    // Keep batches flowing (4 in the simulator) from before the delta until 4 batches after it
    // resolved, so the flip (its last write) lands while lookups are in the pipeline.
    const running = [submit(), submit(), submit(), submit()];
    let applied = false;
    const delivered = stalled.applyDelta(h, delta).then(() => {
      applied = true;
    });
    let after = 0;
    while (after < 4 && batches.length < 400) {
      await running[running.length - 4];
      running.push(submit());
      if (applied) after++;
    }
    await Promise.all([...running, delivered]);
    let sawNew = false;
    let olds = 0;
    let news = 0;
    for (let k = 0; k < batches.length; k++) {
      const { dst, vrf } = batches[k];
      const a = reference(old, dst, vrf);
      const b = reference(afterImage, dst, vrf);
      for (let i = 0; i < dst.length; i++) {
        const got = outs[k][i];
        expect(got === a[i] || got === b[i], `batch ${k} item ${i}: ${got} is neither old ${a[i]} nor new ${b[i]}`).toBe(true);
        if (a[i] === b[i]) continue;
        if (got === b[i]) {
          sawNew = true;
          news++;
        } else {
          // Once one lookup saw the new table, no later one may see the old.
          expect(sawNew, `batch ${k} item ${i} answered from the old table after the flip`).toBe(false);
          olds++;
        }
      }
    }
    // Both versions were really observed: the flip happened mid-stream.
    expect(olds).toBeGreaterThan(0);
    expect(news).toBeGreaterThan(0);
    // After the delta resolved, a batch sees exactly the new table.
    const { dst, vrf } = inputs(routes, 2, 4096, 999);
    const out = new Int32Array(4096);
    await stalled.runKernel('ip-lookup', { count: 4096, inputs: { dst, vrf }, outputs: { nextHop: out } }, [h]);
    expect(firstMismatch(out, reference(afterImage, dst, vrf), dst, vrf, 4096)).toBeNull();
    await stalled.releaseStructure(h);
  });

  it('refuses what it cannot walk as BackendFailure (a third node level, of either tag), and images past its memory', async (ctx) => {
    if (!ok) return ctx.skip();
    // A node appended to a real image, reached from L0 entry 0x0a0b: two runs (slot 0, slots
    // 1..255) whose entries are a NODE and a NARROW_NODE entry: level 2 finds a node entry again.
    const img = withSelfLoopNode(buildImage([maeWest]).image, narrowNodeEntry);
    const h = await plain.loadStructure('multi-fib-v4', img, 1);
    const vrf = Int32Array.of(0, 0);
    for (const third of [0x0a0b0000, 0x0a0b0001]) {
      const dst = Int32Array.of(0x01020304, third);
      const run = (): Promise<unknown> => plain.runKernel('ip-lookup', { count: 2, inputs: { dst, vrf }, outputs: { nextHop: new Int32Array(2) } }, [h]);
      await expect(run()).rejects.toThrow(new RegExp(`item 1 \\(dst 0x${third.toString(16)}\\)`));
      await expect(run()).rejects.toBeInstanceOf(BackendFailure);
    }
    await plain.releaseStructure(h);
    await expect(plain.loadStructure('multi-fib-v4', new Uint32Array(2 ** 22 + 1), 1)).rejects.toThrow(/does not fit the simulated memory of 4194304 words/);
  });
});
