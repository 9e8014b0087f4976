/**
 * webgpu backend specifics beyond the shared kernel suite: adapter facts, refusal of an image
 * larger than a binding, growth of a structure by delta, several batches in flight through
 * the ring, one pipeline per program, and device loss / validation errors as BackendFailure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendFailure, BackendRefusal } from '../../core/backend.js';
import { IP_LOOKUP, ipLookupReference, type IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { FLOW_HASH } from '../../core/kernels/flow-hash/index.js';
import { WebGpuBackend } from '../../backends/webgpu/webgpu-backend.js';
import { IP_LOOKUP_WGSL } from '../../backends/webgpu/kernels/ip-lookup.js';
import { loadRoutes, multiFibOf, rng } from '../kernels/fixtures.js';
import { requireOrWarn } from './availability.js';

function lookupIo(n: number, seed: number, fibs: number): IpLookupIo {
  const r = rng(seed);
  const dst = new Int32Array(n);
  const vrf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    dst[i] = r();
    vrf[i] = (r() >>> 0) % fibs;
  }
  return { count: n, inputs: { dst, vrf }, outputs: { nextHop: new Int32Array(n) } };
}

function expected(image: Uint32Array, io: IpLookupIo): Int32Array {
  const want = new Int32Array(io.count);
  ipLookupReference(image, { ...io, outputs: { nextHop: want } });
  return want;
}

describe('webgpu backend', () => {
  const gpu = new WebGpuBackend({ ringSize: 3 });
  let ok = false;
  const mf = multiFibOf([loadRoutes('preprocessed-ipv4.rib.20170101.0000.txt'), loadRoutes('preprocessed-ipv4.rib.20170112.0800.txt')]);
  const image = mf.image.slice();

  beforeAll(async () => {
    ok = requireOrWarn('webgpu', await gpu.detect());
  });
  afterAll(async () => {
    await gpu.dispose();
  });

  it('names its adapter and marks a software one (lavapipe / llvmpipe)', async (ctx) => {
    if (!ok) return ctx.skip();
    const a = await gpu.detect();
    if (!a.available) throw new Error(a.reason);
    expect(a.device.description.length).toBeGreaterThan(0);
    for (const k of ['vendor', 'architecture', 'isFallbackAdapter', 'maxStorageBufferBindingSize', 'maxBufferSize']) expect(a.device.details).toHaveProperty(k);
    if (/llvmpipe|lavapipe/i.test(`${a.device.description} ${a.device.details.device}`)) expect(a.device.software).toBe(true);
    expect(Number(a.device.details.maxStorageBufferBindingSize)).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  it('refuses an image larger than one binding, with the numbers', async (ctx) => {
    if (!ok) return ctx.skip();
    const small = new WebGpuBackend({ maxStructureBytes: 65536 });
    try {
      expect((await small.detect()).available).toBe(true);
      const err = await small.loadStructure('multi-fib-v4', image, 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendRefusal);
      expect(String((err as Error).message)).toMatch(new RegExp(`${image.length} words \\(${image.byteLength} bytes\\).*maxStructureBytes 65536`));
    } finally {
      await small.dispose();
    }
  });

  it('keeps several batches in flight and answers each one right', async (ctx) => {
    if (!ok) return ctx.skip();
    const h = await gpu.loadStructure('multi-fib-v4', image, mf.generation);
    const ios = Array.from({ length: 8 }, (_v, k) => lookupIo([4096, 65536, 7, 100_000][k % 4], 900 + k, 3));
    await Promise.all(ios.map((io) => gpu.runKernel(IP_LOOKUP, io, [h])));
    ios.forEach((io, k) => expect(Array.from(io.outputs.nextHop), `batch ${k}`).toEqual(Array.from(expected(image, io))));
    expect(gpu.compiledPrograms().filter((p) => p === IP_LOOKUP_WGSL.key)).toHaveLength(1);
    await gpu.releaseStructure(h);
  });

  it('grows a structure when a delta lengthens it (new buffer + copy) and keeps answering', async (ctx) => {
    if (!ok) return ctx.skip();
    const h = await gpu.loadStructure('multi-fib-v4', image, 1);
    // Lengthen the image far past the headroom with filler words, then check every word survived.
    const extra = Math.ceil(image.length * 0.8);
    const filler = Uint32Array.from({ length: extra }, (_v, i) => (i * 2654435761) >>> 0);
    await gpu.applyDelta(h, { kind: 'multi-fib-v4', fromGeneration: 1, toGeneration: 2, length: image.length + extra, writes: [{ offset: image.length, words: filler }] });
    expect(h.generation).toBe(2);
    const back = await gpu.readStructure(h);
    expect(back.length).toBe(image.length + extra);
    expect(Buffer.from(back.buffer, 0, image.byteLength).equals(Buffer.from(image.buffer, image.byteOffset, image.byteLength))).toBe(true);
    expect(back[image.length + extra - 1]).toBe(filler[extra - 1]);
    const io = lookupIo(4096, 5, 2);
    await gpu.runKernel(IP_LOOKUP, io, [h]);
    expect(Array.from(io.outputs.nextHop)).toEqual(Array.from(expected(image, io)));
    await gpu.releaseStructure(h);
  });

  it('reports a validation error as BackendFailure', async (ctx) => {
    if (!ok) return ctx.skip();
    // The lookup program run without its image binding: the bind group does not match the pipeline.
    const io = lookupIo(64, 1, 1);
    const err = await gpu.runProgram({ program: IP_LOOKUP_WGSL, extras: [] }, io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendFailure);
    expect(String(err)).toMatch(/webgpu/);
  });

  it('reports a lost device as BackendFailure on every later call', async (ctx) => {
    if (!ok) return ctx.skip();
    const doomed = new WebGpuBackend();
    expect((await doomed.detect()).available).toBe(true);
    const h = await doomed.loadStructure('multi-fib-v4', image, 1);
    const io = lookupIo(1024, 2, 2);
    await doomed.runKernel(IP_LOOKUP, io, [h]);
    doomed.loseDeviceForTesting();
    await new Promise((r) => setTimeout(r, 50));
    await expect(doomed.runKernel(IP_LOOKUP, lookupIo(1024, 3, 2), [h])).rejects.toBeInstanceOf(BackendFailure);
    await expect(doomed.runKernel(FLOW_HASH, { count: 1, inputs: { src: new Int32Array(1), dst: new Int32Array(1), ports: new Int32Array(1), proto: new Int32Array(1) }, outputs: { flow: new Int32Array(1) } }, [])).rejects.toThrow(/device lost/);
    await doomed.dispose();
  });

  it('refuses a program wider than the device\'s storage bindings, before compiling it', async (ctx) => {
    if (!ok) return ctx.skip();
    const max = gpu.gpuDevice().limits.maxStorageBuffersPerShaderStage;
    const names = Array.from({ length: max }, (_, i) => `c${i}`);
    const program = { key: 'too-wide/wgsl/1', inputs: names, outputs: ['out'], extra: [], source: '' };
    const io = { count: 1, inputs: Object.fromEntries(names.map((n) => [n, new Int32Array(1)])), outputs: { out: new Int32Array(1) } };
    const err = await gpu.runProgram({ program, extras: [] }, io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendRefusal);
    expect((err as Error).message).toContain(`binds ${max + 1} storage buffers, above this device's maxStorageBuffersPerShaderStage ${max}`);
    expect(gpu.compiledPrograms()).not.toContain('too-wide/wgsl/1');
  });
});
