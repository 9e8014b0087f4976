/**
 * The null backend's modelled device (`device: 'worker'`): answers computed in a worker thread
 * over its own copy of the structures, checked against the CPU reference on real tables and
 * captures; deltas in order with runs sent before and after them; runs paced to the modelled
 * time while the calling thread stays free; release, dispose (the worker ends, outstanding runs
 * fail as a lost device) and no handle left behind when nobody disposes it.
 * The worker script is the build's (dist/backends/null/), so `npm run build` comes first, as
 * `npm test` does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendFailure } from '../../core/backend.js';
import { IP_LOOKUP, ipLookupReference, type IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { FLOW_HASH, flowHashReference, type FlowHashIo } from '../../core/kernels/flow-hash/index.js';
import type { ImageDelta } from '../../core/structures/image.js';
import { NullBackend } from '../../backends/null/null-backend.js';
import { boundaryAddresses, edgeCaseFibs, loadRoutes, multiFibOf, pcapAddresses, rng } from '../kernels/fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

const live: NullBackend[] = [];
function worker(costs: { perItemNs?: number; perBatchNs?: number; perByteTransferNs?: number } = { perItemNs: 0, perBatchNs: 0, perByteTransferNs: 0 }): NullBackend {
  const b = new NullBackend({ device: 'worker', costs });
  live.push(b);
  return b;
}
afterEach(async () => {
  for (const b of live.splice(0)) await b.dispose();
});

function lookupIo(dst: readonly number[], fibs: number, seed: number): IpLookupIo {
  const r = rng(seed);
  const n = dst.length;
  const io: IpLookupIo = { count: n, inputs: { dst: Int32Array.from(dst), vrf: new Int32Array(n) }, outputs: { nextHop: new Int32Array(n).fill(-7) } };
  for (let i = 0; i < n; i++) io.inputs.vrf[i] = (r() >>> 0) % fibs;
  return io;
}

function reference(image: Uint32Array, io: IpLookupIo): number[] {
  const want = new Int32Array(io.count);
  ipLookupReference(image, { ...io, outputs: { nextHop: want } });
  return Array.from(want);
}

function randomAddresses(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => r());
}

const routes = [loadRoutes('preprocessed-ipv4.rib.20170101.0000.txt', 20000), loadRoutes('preprocessed-ipv4.rib.20170109.1600.txt', 20000)];

describe('null backend, modelled device in a worker thread', () => {
  it('answers as the CPU reference on real tables, real capture addresses, boundaries and edge-case tables', async () => {
    const b = worker();
    for (const [name, fibs] of [['two real RIBs', routes], ['edge cases', edgeCaseFibs()]] as const) {
      const mf = multiFibOf(fibs);
      const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
      const dst = [...pcapAddresses('pcapplusplus/example.pcap'), ...boundaryAddresses(fibs.flat()).slice(0, 20000), ...randomAddresses(5000, 3)];
      const io = lookupIo(dst, fibs.length + 1, 9); // one FIB index past the last: matches nothing
      const stats = await b.runKernel(IP_LOOKUP, io, [h]);
      expect(Array.from(io.outputs.nextHop), name).toEqual(reference(mf.image, io));
      expect(stats.device?.workerNs).toBeGreaterThan(0);
      await b.releaseStructure(h);
    }
    // A kernel without structures too (flow-hash), and a batch of one and of none.
    const r = rng(5);
    for (const n of [0, 1, 777]) {
      const col = (): Int32Array => Int32Array.from({ length: n }, () => r());
      const io: FlowHashIo = { count: n, inputs: { src: col(), dst: col(), ports: col(), proto: col().map((p) => (p >>> 0) % 256) }, outputs: { flow: new Int32Array(n) } };
      const want = new Int32Array(n);
      flowHashReference({ ...io, outputs: { flow: want } });
      await b.runKernel(FLOW_HASH, io, []);
      expect(Array.from(io.outputs.flow), `flow-hash of ${n}`).toEqual(Array.from(want));
    }
  });

  it('applies each delta after the runs sent before it and before those sent after, without waiting for it', async () => {
    const b = worker();
    const mf = multiFibOf(routes);
    const deltas: ImageDelta[] = [];
    mf.onDelta((d) => deltas.push(d));
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    const pending: { p: Promise<unknown>; io: IpLookupIo; want: number[] }[] = [];
    const r = rng(11);
    for (let step = 0; step < 6; step++) {
      for (let k = 0; k < 3; k++) {
        const io = lookupIo([...randomAddresses(400, 100 * step + k), ...routes[0].slice(0, 200).map((x) => x.prefix | 0)], 2, step);
        pending.push({ io, want: reference(mf.image, io), p: b.runKernel(IP_LOOKUP, io, [h]) });
      }
      // Route changes between the runs: new, replaced and removed routes, a default route.
      const victim = routes[0][(r() >>> 0) % 20000];
      mf.applyChanges([
        { op: 'set', fib: 0, prefix: 0, len: 0, nextHop: 5000 + step },
        { op: 'set', fib: 1, prefix: (r() & 0xffffff00) >>> 0, len: 24, nextHop: 6000 + step },
        ...(mf.getRoute(0, victim.prefix, victim.len) >= 0 ? [{ op: 'remove' as const, fib: 0, prefix: victim.prefix, len: victim.len }] : []),
      ]);
      for (const d of deltas.splice(0)) pending.push({ io: lookupIo([], 1, 0), want: [], p: b.applyDelta(h, d) });
    }
    await Promise.all(pending.map((x) => x.p));
    pending.forEach((x, i) => expect(Array.from(x.io.outputs.nextHop), `request ${i}`).toEqual(x.want));
    expect(h.generation).toBe(mf.generation);
    expect(Array.from(await b.readStructure(h))).toEqual(Array.from(mf.image));
    // A delta that does not follow the held generation is refused before the worker sees it.
    await expect(b.applyDelta(h, { kind: 'multi-fib-v4', fromGeneration: h.generation + 5, toGeneration: h.generation + 6, length: mf.image.length, writes: [] })).rejects.toThrow(/generation/);
  });

  it('serves many runs in flight at once, in slots of several sizes, in call order with deltas between them', async () => {
    const b = worker();
    const mf = multiFibOf(routes);
    const deltas: ImageDelta[] = [];
    mf.onDelta((d) => deltas.push(d));
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    // Sizes out of order, so a slot lent to a small run is grown for a large one while others are out.
    const sizes = [1, 300, 4096, 77, 9000, 2000, 0, 5000];
    const pending: { p: Promise<unknown>; io: IpLookupIo; want: number[] }[] = [];
    for (let step = 0; step < 4; step++) {
      for (let k = 0; k < 12; k++) {
        const io = lookupIo(randomAddresses(sizes[(step + k) % sizes.length], 1000 * step + k), 2, 50 + k);
        pending.push({ io, want: reference(mf.image, io), p: b.runKernel(IP_LOOKUP, io, [h]) });
      }
      mf.applyChanges([
        { op: 'set', fib: 0, prefix: 0, len: 0, nextHop: 7000 + step },
        { op: 'set', fib: 1, prefix: 0x0a000000 + (step << 16), len: 16, nextHop: 7100 + step },
      ]);
      for (const d of deltas.splice(0)) pending.push({ io: lookupIo([], 1, 0), want: [], p: b.applyDelta(h, d) });
    }
    await Promise.all(pending.map((x) => x.p));
    pending.forEach((x, i) => expect(Array.from(x.io.outputs.nextHop), `request ${i}`).toEqual(x.want));
    expect(Array.from(await b.readStructure(h))).toEqual(Array.from(mf.image));
  });

  it('fails every outstanding and later request as a lost device when the worker dies mid-queue', async () => {
    // The worker thread ends when its third run comes up; each run is modelled at 20 ms, so the rest queue behind it.
    const b = new NullBackend({ device: 'worker', workerDiesAfterRuns: 2, costs: { perBatchNs: 20e6, perItemNs: 0, perByteTransferNs: 0 } });
    live.push(b);
    const mf = multiFibOf(routes);
    const deltas: ImageDelta[] = [];
    mf.onDelta((d) => deltas.push(d));
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    const ios = Array.from({ length: 6 }, (_v, k) => lookupIo(randomAddresses(500, 70 + k), 2, 70 + k));
    const wants = ios.map((io) => reference(mf.image, io));
    const runs = ios.map((io) => b.runKernel(IP_LOOKUP, io, [h]));
    mf.applyChanges([{ op: 'set', fib: 0, prefix: 0, len: 0, nextHop: 4321 }]);
    const delta = b.applyDelta(h, deltas[0]);
    const settled = await Promise.allSettled([...runs, delta]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    [0, 1].forEach((k) => expect(Array.from(ios[k].outputs.nextHop), `run ${k}`).toEqual(wants[k]));
    for (const s of settled.slice(2)) {
      const reason = (s as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(BackendFailure);
      expect(String(reason)).toMatch(/modelled device lost: worker exited \(code 3\)/);
    }
    await expect(b.runKernel(IP_LOOKUP, lookupIo([1, 2], 1, 1), [h])).rejects.toBeInstanceOf(BackendFailure);
    expect(() => new NullBackend({ workerDiesAfterRuns: 1 })).toThrow(/workerDiesAfterRuns needs device 'worker'/);
  });

  it('refuses a released structure, an image that is not one, and an image over capacity', async () => {
    const b = worker();
    const mf = multiFibOf(routes);
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    await b.releaseStructure(h);
    await expect(b.runKernel(IP_LOOKUP, lookupIo([1, 2, 3], 1, 1), [h])).rejects.toThrow(/not held here/);
    await expect(b.readStructure(h)).rejects.toThrow(/not held here/);
    await expect(b.loadStructure('multi-fib-v4', new Uint32Array(3), 1)).rejects.toThrow(/not a multi-fib-v4 image/);
    const small = new NullBackend({ device: 'worker', costs: { capacityBytes: 1024 } });
    live.push(small);
    await expect(small.loadStructure('multi-fib-v4', mf.image, mf.generation)).rejects.toThrow(/exceeds the configured capacity/);
  });

  it('ends a run no earlier than its modelled time, and the calling thread is free meanwhile', async () => {
    const b = worker({ perBatchNs: 60e6, perItemNs: 1000, perByteTransferNs: 0 }); // 60 ms + 1 µs a lookup
    const mf = multiFibOf(routes);
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    const io = lookupIo(randomAddresses(2000, 4), 2, 4);
    const t0 = performance.now();
    let timerFired = -1;
    setTimeout(() => (timerFired = performance.now() - t0), 1);
    const stats = await b.runKernel(IP_LOOKUP, io, [h]);
    const took = performance.now() - t0;
    // Modelled: 60 ms + 2000 x 1 µs = 62 ms. The run cannot end before that; the timer fired while it ran.
    expect(stats.device?.simulatedNs).toBe(62e6);
    expect(took).toBeGreaterThanOrEqual(62);
    expect(stats.hostMs).toBeGreaterThanOrEqual(62);
    expect(timerFired).toBeGreaterThanOrEqual(0);
    expect(timerFired).toBeLessThan(took);
    expect(stats.device!.workerNs + stats.device!.pacedNs + stats.device!.lateNs).toBeGreaterThanOrEqual(62e6 - 1);
    expect(Array.from(io.outputs.nextHop)).toEqual(reference(mf.image, io));
    // The device is one queue: three runs sent at once end no earlier than three modelled runs.
    const t1 = performance.now();
    await Promise.all([0, 1, 2].map(() => b.runKernel(IP_LOOKUP, lookupIo(randomAddresses(2000, 4), 2, 4), [h])));
    expect(performance.now() - t1).toBeGreaterThanOrEqual(3 * 62);
  });

  it('fails outstanding and later runs as a lost device once disposed, and can be used again after', async () => {
    const b = worker({ perBatchNs: 200e6 });
    const mf = multiFibOf(routes);
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    // Several runs queued on the device (200 ms each) and a read behind them, all outstanding at dispose.
    const running = [1, 2, 3].map((k) => b.runKernel(IP_LOOKUP, lookupIo([k, 2, 3], 1, k), [h]));
    const reading = b.readStructure(h);
    const outcomes = Promise.allSettled([...running, reading]);
    await b.dispose();
    for (const o of await outcomes) {
      expect(o.status).toBe('rejected');
      const reason = (o as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(BackendFailure);
      expect(String(reason)).toMatch(/modelled device lost: disposed/);
    }
    // Disposed means nothing is held; a new load starts a new worker.
    await expect(b.runKernel(IP_LOOKUP, lookupIo([1], 1, 1), [h])).rejects.toThrow(/not held here/);
    const again = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    const io = lookupIo(randomAddresses(100, 8), 2, 8);
    await b.runKernel(IP_LOOKUP, io, [again]);
    expect(Array.from(io.outputs.nextHop)).toEqual(reference(mf.image, io));
  });

  it('keeps no process alive when nobody disposes it (the worker is referenced only while a request is out)', () => {
    const script = `
      import { NullBackend } from ${JSON.stringify(path.join(ROOT, 'dist/backends/null/null-backend.js'))};
      const b = new NullBackend({ device: 'worker', costs: { perBatchNs: 20e6 } });
      const io = { count: 2, inputs: { src: new Int32Array(2), dst: new Int32Array(2), ports: new Int32Array(2), proto: new Int32Array(2) }, outputs: { flow: new Int32Array(2) } };
      const io2 = { ...io, outputs: { flow: new Int32Array(2) } };
      const [s] = await Promise.all([b.runKernel('flow-hash', io, []), b.runKernel('flow-hash', io2, [])]);
      console.log('ran', s.hostMs >= 20);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ran true');
    expect(r.status).toBe(0);
  });

  it('leaves the default null backend inline: no worker, answers on the calling thread', async () => {
    const b = new NullBackend();
    const mf = multiFibOf(routes);
    const h = await b.loadStructure('multi-fib-v4', mf.image, mf.generation);
    const io = lookupIo(randomAddresses(300, 2), 2, 2);
    const stats = await b.runKernel(IP_LOOKUP, io, [h]);
    expect(Array.from(io.outputs.nextHop)).toEqual(reference(mf.image, io));
    expect(stats.device?.workerNs).toBeUndefined();
    expect(stats.device?.simulatedNs).toBeGreaterThan(0);
    expect((await b.detect()).available && (await b.detect() as { device: { details: Record<string, unknown> } }).device.details.device).toBe('inline');
    await b.dispose();
  });
});
