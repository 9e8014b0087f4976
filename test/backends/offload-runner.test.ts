/**
 * OffloadRunner: resident structures, deltas in order between batches, batches in flight, and
 * the visible fallback to cpu (unavailable backend, lost device), on the null backend (costs
 * and failures on demand, CPU answers) and on the real webgpu backend.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, BackendName } from '../../core/backend.js';
import { IP_LOOKUP, ipLookupReference, type IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { OffloadRunner, type OffloadOptions } from '../../core/offload/offload-runner.js';
import type { ImageDelta } from '../../core/structures/image.js';
import { CpuBackend } from '../../backends/cpu/cpu-backend.js';
import { NullBackend } from '../../backends/null/null-backend.js';
import { WebGpuBackend } from '../../backends/webgpu/webgpu-backend.js';
import { loadRoutes, multiFibOf, rng } from '../kernels/fixtures.js';
import { requireOrWarn } from './availability.js';

function testEnv(backends: Partial<Record<BackendName, Backend>>, strict = false): { env: OffloadOptions['env']; warnings: string[] } {
  const warnings: string[] = [];
  const all: Partial<Record<BackendName, Backend>> = { cpu: new CpuBackend(), ...backends };
  return {
    warnings,
    env: {
      strictBackends: strict,
      log: { info: () => undefined, warn: (m) => void warnings.push(m) },
      async backend(name) {
        const b = all[name];
        if (b === undefined) throw new Error(`${name}: not configured in this test`);
        const a = await b.detect();
        if (!a.available) throw new Error(a.reason);
        return b;
      },
    },
  };
}

function lookupIo(n: number, seed: number, fibs: number): IpLookupIo {
  const r = rng(seed);
  const io: IpLookupIo = { count: n, inputs: { dst: new Int32Array(n), vrf: new Int32Array(n) }, outputs: { nextHop: new Int32Array(n).fill(-7) } };
  for (let i = 0; i < n; i++) {
    io.inputs.dst[i] = r();
    io.inputs.vrf[i] = (r() >>> 0) % fibs;
  }
  return io;
}

function reference(image: Uint32Array, io: IpLookupIo): number[] {
  const want = new Int32Array(io.count);
  ipLookupReference(image, { ...io, outputs: { nextHop: want } });
  return Array.from(want);
}

const routes = [loadRoutes('preprocessed-ipv4.rib.20170101.0000.txt', 15000), loadRoutes('preprocessed-ipv4.rib.20170109.1600.txt', 15000)];

describe('OffloadRunner fallback', () => {
  it('runs on cpu, visibly, when the requested backend is unavailable', async () => {
    const { env, warnings } = testEnv({ null: new NullBackend({ unavailable: 'no such card in this machine' }) });
    const runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: 'null', owner: 'rt', env });
    const mf = multiFibOf(routes);
    await runner.addStructure('multi-fib-v4', mf.image, mf.generation);
    const io = lookupIo(5000, 1, 2);
    const stats = await runner.run(io);
    expect(stats.backend).toBe('cpu');
    expect(Array.from(io.outputs.nextHop)).toEqual(reference(mf.image, io));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/rt: ip-lookup runs on cpu instead of null: no such card/);
    expect(runner.status()).toMatchObject({ requested: 'null', backend: 'cpu', batches: 1, items: 5000 });
    expect(runner.status().fallbackReason).toMatch(/no such card/);
    expect(await runner.handlers().backend_fallback.read?.()).toMatch(/no such card/);
    await runner.close();
  });

  it('refuses to fall back under strict backends (CI)', async () => {
    const { env } = testEnv({ null: new NullBackend({ unavailable: 'no such card in this machine' }) }, true);
    await expect(OffloadRunner.open({ kernel: IP_LOOKUP, backend: 'null', owner: 'rt', env })).rejects.toThrow(/rt: backend null is required \(strict backends\) but unavailable: no such card/);
  });

  it('moves to cpu once when the device fails mid-stream; every batch is still answered right', async () => {
    const { env, warnings } = testEnv({ null: new NullBackend({ failAfterRuns: 3 }) });
    const runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: 'null', owner: 'rt', env, maxInFlight: 3 });
    const mf = multiFibOf(routes);
    await runner.addStructure('multi-fib-v4', mf.image, mf.generation);
    const ios = Array.from({ length: 8 }, (_v, k) => lookupIo(2000, 10 + k, 2));
    const stats = await Promise.all(ios.map((io) => runner.run(io)));
    ios.forEach((io, k) => expect(Array.from(io.outputs.nextHop), `batch ${k}`).toEqual(reference(mf.image, io)));
    expect(stats.slice(0, 3).map((s) => s.backend)).toEqual(['null', 'null', 'null']);
    expect(stats.slice(3).every((s) => s.backend === 'cpu')).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/falls back from null to cpu: null: device lost/);
    expect(runner.summary()).toMatchObject({ backend: 'cpu', backend_requested: 'null', kernel_batches: 8 });
    expect(String(runner.summary().backend_fallback)).toMatch(/device lost/);
    await runner.close();
  });

  it('moves to cpu once when the worker of the modelled device dies with batches in flight; every batch is still answered right', async () => {
    const device = new NullBackend({ device: 'worker', workerDiesAfterRuns: 2, costs: { perBatchNs: 5e6, perItemNs: 0, perByteTransferNs: 0 } });
    const { env, warnings } = testEnv({ null: device });
    const runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: 'null', owner: 'rt', env, maxInFlight: 4 });
    const mf = multiFibOf(routes);
    await runner.addStructure('multi-fib-v4', mf.image, mf.generation);
    const ios = Array.from({ length: 10 }, (_v, k) => lookupIo(1500, 40 + k, 2));
    const stats = await Promise.all(ios.map((io) => runner.run(io)));
    ios.forEach((io, k) => expect(Array.from(io.outputs.nextHop), `batch ${k}`).toEqual(reference(mf.image, io)));
    expect(stats.slice(0, 2).map((s) => s.backend)).toEqual(['null', 'null']);
    expect(stats.slice(2).every((s) => s.backend === 'cpu')).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/falls back from null to cpu: null: modelled device lost: worker exited \(code 3\)/);
    expect(runner.status()).toMatchObject({ backend: 'cpu', batches: 10, items: 15000 });
    await runner.close();
    await device.dispose();
  });

  it('keeps a delta queued behind a batch whose device fails, and answers later batches with it', async () => {
    const { env } = testEnv({ null: new NullBackend({ failAfterRuns: 1 }) });
    const runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: 'null', owner: 'rt', env, maxInFlight: 2 });
    const mf = multiFibOf(routes);
    await runner.addStructure('multi-fib-v4', mf.image, mf.generation);
    const deltas: ImageDelta[] = [];
    mf.onDelta((d) => deltas.push(d));
    const first = lookupIo(1000, 21, 2);
    await runner.run(first);
    const failing = runner.run(lookupIo(1000, 22, 2)); // the device dies under this one
    mf.applyChanges([{ op: 'set', fib: 0, prefix: 0, len: 0, nextHop: 4321 }]); // a next hop no route had
    expect(deltas).toHaveLength(1);
    const applied = runner.applyDelta(0, deltas[0]);
    const after = lookupIo(3000, 23, 2);
    const afterRun = runner.run(after);
    await failing;
    await applied;
    const stats = await afterRun;
    expect(stats.backend).toBe('cpu');
    expect(Array.from(after.outputs.nextHop)).toEqual(reference(mf.image, after));
    expect(Array.from(await runner.readStructure(0))).toEqual(Array.from(mf.image));
    await runner.close();
  });
});

// 'null worker': the null backend's modelled device, a worker thread served through a shared-memory doorbell.
for (const variant of ['null', 'null worker', 'webgpu'] as const) {
  const which = variant === 'webgpu' ? 'webgpu' : 'null';
  describe(`OffloadRunner on ${variant}`, () => {
    it('applies each delta between the batches started before and after it', async (ctx) => {
      const backend = variant === 'null' ? new NullBackend() : variant === 'null worker' ? new NullBackend({ device: 'worker', costs: { perBatchNs: 0, perItemNs: 0, perByteTransferNs: 0 } }) : new WebGpuBackend();
      if (!requireOrWarn(which, await backend.detect())) return ctx.skip();
      const { env, warnings } = testEnv({ [which]: backend });
      const runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: which, owner: 'rt', env, maxInFlight: 3 });
      const mf = multiFibOf(routes);
      const deltas: ImageDelta[] = [];
      mf.onDelta((d) => deltas.push(d));
      const fib = await runner.addStructure('multi-fib-v4', mf.image, mf.generation);
      const r = rng(99);
      const pending: { io: IpLookupIo; want: number[]; p: Promise<unknown> }[] = [];
      for (let step = 0; step < 5; step++) {
        for (let b = 0; b < 3; b++) {
          const io = lookupIo(8192, step * 10 + b, 2);
          pending.push({ io, want: reference(mf.image, io), p: runner.run(io) });
        }
        // Change many /16s: the second changes the default route, which touches the whole table.
        for (let j = 0; j < 50; j++) mf.replace(j % 2, (r() & 0xffffff00) >>> 0, 24, 9000 + step * 50 + j);
        mf.replace(step % 2, 0, 0, 8000 + step);
        const ds = deltas.splice(0);
        expect(ds.length).toBeGreaterThan(0);
        for (const d of ds) void runner.applyDelta(fib, d);
      }
      await Promise.all(pending.map((x) => x.p));
      pending.forEach((x, k) => expect(Array.from(x.io.outputs.nextHop), `batch ${k}`).toEqual(x.want));
      const back = await runner.readStructure(fib);
      expect(Array.from(back.subarray(0, mf.image.length))).toEqual(Array.from(mf.image));
      expect(runner.status()).toMatchObject({ backend: which, fallbackReason: null, batches: 15 });
      expect(warnings).toEqual([]);
      await expect(runner.applyDelta(fib, { ...deltas[0] ?? { kind: 'multi-fib-v4', length: 16, writes: [] }, fromGeneration: 1, toGeneration: 2 })).rejects.toThrow(/does not follow generation/);
      await runner.close();
      await backend.dispose();
    });
  });
}

describe('OffloadRunner on webgpu, device lost', () => {
  it('falls back to cpu with the loss named, and loses no batch', async (ctx) => {
    const gpu = new WebGpuBackend();
    if (!requireOrWarn('webgpu', await gpu.detect())) return ctx.skip();
    const { env, warnings } = testEnv({ webgpu: gpu });
    const runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: 'webgpu', owner: 'rt', env, maxInFlight: 2 });
    const mf = multiFibOf(routes);
    await runner.addStructure('multi-fib-v4', mf.image, mf.generation);
    const first = lookupIo(4096, 1, 2);
    expect((await runner.run(first)).backend).toBe('webgpu');
    gpu.loseDeviceForTesting();
    const ios = [lookupIo(4096, 2, 2), lookupIo(4096, 3, 2), lookupIo(4096, 4, 2)];
    const stats = await Promise.all(ios.map((io) => runner.run(io)));
    expect(stats.map((s) => s.backend)).toEqual(['cpu', 'cpu', 'cpu']);
    for (const io of [first, ...ios]) expect(Array.from(io.outputs.nextHop)).toEqual(reference(mf.image, io));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/falls back from webgpu to cpu: webgpu: .*(lost|destroyed)/i);
    expect(await runner.handlers().backend.read?.()).toBe('cpu');
    await runner.close();
    await gpu.dispose();
  });
});
