/**
 * The shared kernel suite: every registered form of every kernel, from the registry, against
 * the CPU reference on the same inputs (TF.js's describeWithFlags idea). A backend that
 * registers a form (the fpga backend's ip-lookup) joins without touching this file.
 *
 * Under CI=true an unavailable backend fails its forms' tests; elsewhere they are skipped with
 * a loud warning naming the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, KernelIo, StructureHandle } from '../../core/backend.js';
import type { FlowHashIo } from '../../core/kernels/flow-hash/index.js';
import type { IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { backendAvailability, describeBackends, disposeBackends, getBackend, loadAllBackends } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import { FLOW_HASH, flowHashReference } from '../../core/kernels/flow-hash/index.js';
import { IP_LOOKUP, ipLookupReference } from '../../core/kernels/ip-lookup/index.js';
import type { ImageDelta } from '../../core/structures/image.js';
import type { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import { boundaryAddresses, edgeCaseFibs, loadRoutes, multiFibOf, pcapAddresses, rng, type Route } from './fixtures.js';

await loadAllBackends();

const CI = process.env.CI === 'true';
const BATCH_SIZES = [1, 7, 256, 4096, 65536];

interface Table {
  name: string;
  fibs: Route[][];
}

const linx = ['20170101.0000', '20170109.1600', '20170112.0800'].map((d) => loadRoutes(`preprocessed-ipv4.rib.${d}.txt`));
const TABLES: Table[] = [
  { name: 'LINX RIB x3 snapshots (3 FIBs)', fibs: linx },
  { name: 'MAE-West (1 FIB)', fibs: [loadRoutes('mae-west.txt')] },
  { name: 'edge cases (/0, /32, nested, empty FIB)', fibs: edgeCaseFibs() },
];

/** Addresses: real capture, route boundaries, random; FIB numbers: every FIB plus -1 and one past the end. */
function lookupInputs(t: Table, n: number, seed: number): IpLookupIo {
  const r = rng(seed);
  const pool = [...pcapAddresses('pcapplusplus/example.pcap'), ...t.fibs.flatMap((f) => boundaryAddresses(f.slice(0, 4000)))];
  const dst = new Int32Array(n);
  const vrf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = r() >>> 0;
    dst[i] = k % 3 === 0 ? r() : pool[(r() >>> 0) % pool.length];
    const f = (r() >>> 0) % (t.fibs.length + 2);
    vrf[i] = f === t.fibs.length ? -1 : f === t.fibs.length + 1 ? t.fibs.length : f;
  }
  return { count: n, inputs: { dst, vrf }, outputs: { nextHop: new Int32Array(n).fill(0x5a5a5a5a) } };
}

function firstMismatch(io: KernelIo, got: Int32Array, want: Int32Array): string | null {
  for (let i = 0; i < io.count; i++) {
    if (got[i] !== want[i]) {
      const cols = Object.entries(io.inputs).map(([k, v]) => `${k}=${v[i] >>> 0}`).join(' ');
      return `item ${i} (${cols}): got ${got[i]}, CPU reference ${want[i]}`;
    }
  }
  return null;
}

/** A ready backend, or null after a loud warning; under CI, an error. */
async function backendOrSkip(name: Parameters<typeof getBackend>[0], variant: string | undefined): Promise<Backend | null> {
  const a = await backendAvailability(name, variant);
  if (a.available) return getBackend(name, variant);
  const label = variant === undefined ? name : `${name}/${variant}`;
  if (CI) throw new Error(`CI: backend ${label} must be available here: ${a.reason}`);
  console.warn(`\n!!! SKIPPING kernel suite on ${label}: ${a.reason}\n`);
  return null;
}

afterAll(async () => {
  await disposeBackends();
});

// A backend whose module fails to load registers no forms and would silently drop out of the
// loops below: name every unavailable one here (fail under CI, loud warning elsewhere).
it('every backend is available, or says why', async () => {
  const missing = (await describeBackends()).filter((d) => !d.availability.available);
  for (const d of missing) {
    const label = d.variant === undefined ? d.name : `${d.name}/${d.variant}`;
    const reason = d.availability.available ? '' : d.availability.reason;
    if (!CI) console.warn(`\n!!! backend ${label} unavailable, its kernel forms are NOT tested here: ${reason}\n`);
  }
  if (CI) expect(missing.map((d) => `${d.name}${d.variant ? `/${d.variant}` : ''}: ${d.availability.available ? '' : d.availability.reason}`)).toEqual([]);
});

for (const contract of kernelRegistry.kernels()) {
  for (const form of kernelRegistry.backendsFor(contract.name)) {
    const label = form.variant === undefined ? form.backend : `${form.backend}/${form.variant}`;
    describe(`${contract.name} on ${label}`, () => {
      let backend: Backend | null = null;
      beforeAll(async () => {
        backend = await backendOrSkip(form.backend, form.variant);
      });

      if (contract.name === IP_LOOKUP) {
        for (const t of TABLES) {
          it(`matches lookupImage: ${t.name}, batches ${BATCH_SIZES.join('/')}`, async (ctx) => {
            if (backend === null) return ctx.skip();
            const mf = multiFibOf(t.fibs);
            const image = mf.image.slice();
            const h = await backend.loadStructure('multi-fib-v4', image, mf.generation);
            try {
              for (const [k, n] of BATCH_SIZES.entries()) {
                const io = lookupInputs(t, n, 1000 + k);
                const want = new Int32Array(n);
                ipLookupReference(image, { ...io, outputs: { nextHop: want } });
                await backend.runKernel(IP_LOOKUP, io, [h]);
                expect(firstMismatch(io, io.outputs.nextHop, want), `${label}, ${t.name}, batch ${n}`).toBeNull();
              }
            } finally {
              await backend.releaseStructure(h);
            }
          });
        }

        it('follows deltas between batches (route adds, removes, a new FIB) and reads back the same image', async (ctx) => {
          if (backend === null) return ctx.skip();
          const t: Table = { name: 'LINX x2', fibs: [linx[0].slice(0, 12000), linx[1].slice(0, 12000)] };
          const mf: MultiFib = multiFibOf(t.fibs);
          const deltas: ImageDelta[] = [];
          mf.onDelta((d) => deltas.push(d));
          const h: StructureHandle = await backend.loadStructure('multi-fib-v4', mf.image.slice(), mf.generation);
          try {
            const r = rng(7);
            for (let step = 0; step < 6; step++) {
              // A burst of changes: new /24s and /32s, removals, and a new default in one FIB.
              for (let j = 0; j < 40; j++) {
                const fib = (r() >>> 0) % 2;
                const len = [24, 32, 20, 28][j % 4];
                const prefix = ((r() & (0xffffffff << (32 - len))) >>> 0);
                mf.replace(fib, prefix, len, 5000 + step * 100 + j);
              }
              const victim = t.fibs[0][(r() >>> 0) % t.fibs[0].length];
              mf.removeRoute(0, victim.prefix, victim.len);
              if (step === 3) mf.replace(1, 0, 0, 77);
              if (step === 4) mf.createFib('late');
              expect(deltas.length).toBeGreaterThan(0);
              for (const d of deltas.splice(0)) await backend.applyDelta(h, d);
              expect(h.generation).toBe(mf.generation);
              const io = lookupInputs({ name: 'x', fibs: [...t.fibs, []] }, 4096, 50 + step);
              const want = new Int32Array(io.count);
              ipLookupReference(mf.image, { ...io, outputs: { nextHop: want } });
              await backend.runKernel(IP_LOOKUP, io, [h]);
              expect(firstMismatch(io, io.outputs.nextHop, want), `${label} after delta step ${step}`).toBeNull();
            }
            const back = await backend.readStructure(h);
            const img = mf.image;
            expect(back.length).toBeGreaterThanOrEqual(h.words);
            expect(Buffer.from(back.buffer, back.byteOffset, h.words * 4).equals(Buffer.from(img.buffer, img.byteOffset, h.words * 4))).toBe(true);
            await expect(backend.applyDelta(h, { kind: 'multi-fib-v4', fromGeneration: h.generation + 5, toGeneration: h.generation + 6, length: 16, writes: [] })).rejects.toThrow(/generation/);
          } finally {
            await backend.releaseStructure(h);
          }
        });
      }

      if (contract.name === FLOW_HASH) {
        it(`matches the reference on random tuples and every protocol kind, batches ${BATCH_SIZES.join('/')}`, async (ctx) => {
          if (backend === null) return ctx.skip();
          const pool = pcapAddresses('pcapplusplus/example.pcap');
          for (const [k, n] of BATCH_SIZES.entries()) {
            const r = rng(300 + k);
            const io: FlowHashIo = {
              count: n,
              inputs: { src: new Int32Array(n), dst: new Int32Array(n), ports: new Int32Array(n), proto: new Int32Array(n) },
              outputs: { flow: new Int32Array(n) },
            };
            for (let i = 0; i < n; i++) {
              io.inputs.src[i] = i % 2 === 0 ? r() : pool[(r() >>> 0) % pool.length];
              io.inputs.dst[i] = i % 3 === 0 ? r() : pool[(r() >>> 0) % pool.length];
              io.inputs.ports[i] = r();
              io.inputs.proto[i] = [6, 17, 1, 0, -1, 255, 6, 17][(r() >>> 0) % 8];
            }
            const want = new Int32Array(n);
            flowHashReference({ ...io, outputs: { flow: want } });
            await backend.runKernel(FLOW_HASH, io, []);
            expect(firstMismatch(io, io.outputs.flow, want), `${label}, batch ${n}`).toBeNull();
          }
        });
      }
    });
  }
}
