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
import { ACL_MATCH, aclMatchReference, NO_RULE, type AclMatchIo } from '../../core/kernels/acl-match/index.js';
import type { FlowHashIo } from '../../core/kernels/flow-hash/index.js';
import type { IpLookupIo } from '../../core/kernels/ip-lookup/index.js';
import { FLOW_LOOKUP, FLOW_MISS, flowLookupReference, type FlowLookupIo } from '../../core/kernels/flow-lookup/index.js';
import { KEY_WORDS } from '../../core/flows/flow-key.js';
import { FlowTable } from '../../core/structures/flow-table/flow-table.js';
import { FLOW_TABLE } from '../../core/structures/flow-table/flow-table-image.js';
import { backendAvailability, describeBackends, disposeBackends, getBackend, loadAllBackends } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import { FLOW_HASH, flowHashReference } from '../../core/kernels/flow-hash/index.js';
import { IP_LOOKUP, ipLookupReference } from '../../core/kernels/ip-lookup/index.js';
import { ACL_RULES_V4, aclImage, aclReplaceDelta } from '../../core/structures/acl/acl-image.js';
import type { AclRule } from '../../core/structures/acl/acl-rules.js';
import type { ImageDelta } from '../../core/structures/image.js';
import type { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';
import { boundaryAddresses, edgeCaseFibs, loadRoutes, multiFibOf, pcapAddresses, rng, type Route } from './fixtures.js';
import { aclBatch, aclRulesFromTuples, edgeCaseAcl, ipv4Tuples, type AclTuple } from './acl-fixtures.js';
import { capturePackets, generatedKey, generatedKey6, keysInBuckets, lookupBatch, oneWordOff, randomKeys, type CapturePackets } from './flow-fixtures.js';

await loadAllBackends();

const CI = process.env.CI === 'true';
const BATCH_SIZES = [1, 7, 256, 4096, 65536];
// The fpga flow forms' Verilator models build in the background from the backend's detect() on
// and are awaited by their first run: on a cold cache (a fresh CI machine) that run waits for
// the build, about 3 minutes on a busy 2-core machine; with the cache it costs nothing.
const FIRST_USE_TIMEOUT_MS = 420_000;

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

/** The shared captures' IP packets, parsed once on first use (only the flow-lookup tests need them). */
let captured: CapturePackets | null = null;
function captures(): CapturePackets {
  captured ??= capturePackets();
  return captured;
}

/** Generated keys n0 .. n0+count-1, flat. */
function generatedKeys(n0: number, count: number): Uint32Array {
  const out = new Uint32Array(count * KEY_WORDS);
  for (let n = 0; n < count; n++) out.set(generatedKey(n0 + n), n * KEY_WORDS);
  return out;
}

/** Generated IPv6 keys n0 .. n0+count-1, flat. */
function generatedKeys6(n0: number, count: number): Uint32Array {
  const out = new Uint32Array(count * KEY_WORDS);
  for (let n = 0; n < count; n++) out.set(generatedKey6(n0 + n), n * KEY_WORDS);
  return out;
}

/** IPv6 keys among `count` flat keys (version 6 in word 9). */
function ipv6Count(keys: Uint32Array, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (((keys[i * KEY_WORDS + 9] >>> 8) & 0xff) === 6) n++;
  return n;
}

/** Classify every key of `keys` into `t`, one packet each at (sec, nsec0 + i): 1 ns apart, so nothing idles out. */
function insertAll(t: FlowTable, keys: Uint32Array, sec: number, nsec0: number): void {
  for (let i = 0; i < keys.length / KEY_WORDS; i++) t.classify(keys, i * KEY_WORDS, false, sec, nsec0 + i, 0);
}

/** The reference's answers for `io` over `image`, and how many of them hit. */
function flowWant(image: Uint32Array, io: FlowLookupIo): { want: Int32Array; hits: number } {
  const want = new Int32Array(io.count);
  flowLookupReference(image, { ...io, outputs: { entry: want } });
  let hits = 0;
  for (let i = 0; i < io.count; i++) if (want[i] !== FLOW_MISS) hits++;
  return { want, hits };
}

/**
 * Flow tables built by the host writer, with the pools of keys to look up in each: the
 * captures' flows beside generated ones; two buckets filled to the last slot (every key of the
 * pool falls in those two, so a miss scans both full buckets); a one-bucket table.
 */
function flowTables(): { name: string; table: FlowTable; pools: Uint32Array[] }[] {
  const c = captures();
  // The captures' own clocks disagree by decades (and one stamp reads as year 586,000), so
  // packets are replayed on a clock of their own, 1 us apart: every flow stays live to hit.
  const real = new FlowTable({ capacity: 4096, seed: 0x5eed });
  for (let i = 0; i < c.count; i++) real.classify(c.keys, i * KEY_WORDS, c.reversed[i] === 1, 0, i * 1000, c.tcpFlags[i]);
  const gen = generatedKeys(0, 2000);
  insertAll(real, gen, 1, 0);
  // IPv6 flows beside the captures' (which hold few): hits on every key word, and misses.
  const gen6 = generatedKeys6(0, 300);
  insertAll(real, gen6, 1, 5000);
  const edge = new Uint32Array(2 * KEY_WORDS).fill(0xffffffff, KEY_WORDS);
  insertAll(real, edge, 2, 0);
  const live = [...real.live()].slice(0, 40).map((e) => real.image.slice(real.base(e) + 1, real.base(e) + 1 + KEY_WORDS));
  const off = live.map((k) => oneWordOff(k, 0));

  const full = new FlowTable({ capacity: 40, seed: 7 });
  const crowd = keysInBuckets(24, 0, 1, full.buckets, full.seed, 0);
  insertAll(full, crowd, 0, 0);
  const strangers = keysInBuckets(16, 0, 1, full.buckets, full.seed, 1_000_000);

  const one = new FlowTable({ capacity: 4, seed: 11 });
  const few = generatedKeys(500, 7);
  insertAll(one, few, 0, 0);

  return [
    { name: `the shared captures' ${c.count} IP packets (${c.files.length} files) + 2,000 generated IPv4 and 300 IPv6 flows`, table: real, pools: [c.keys, gen, gen6, generatedKeys6(50_000, 300), edge, generatedKeys(100_000, 1000), randomKeys(2000, 9), ...off] },
    { name: 'two full buckets (24 keys for 16 slots: 8 evicted)', table: full, pools: [crowd, strangers, oneWordOff(crowd, 0)] },
    { name: 'one bucket (capacity 4, 7 keys)', table: one, pools: [few, generatedKeys(600, 5)] },
  ];
}

interface AclSet {
  name: string;
  rules: AclRule[];
}

/** The shared captures' distinct IPv4 tuples and the acl-match rule sets, made once on first use. */
let aclFixtures: { tuples: AclTuple[]; sets: AclSet[] } | null = null;
function aclSets(): { tuples: AclTuple[]; sets: AclSet[] } {
  if (aclFixtures !== null) return aclFixtures;
  const tuples = ipv4Tuples(captures());
  const real = aclRulesFromTuples(tuples, 400, 0xac1);
  aclFixtures = {
    tuples,
    sets: [
      { name: `400 rules from the captures' ${tuples.length} IPv4 tuples`, rules: real },
      { name: 'the same, then the edge cases ending in a /0 any-any rule', rules: [...real, ...edgeCaseAcl()] },
      { name: 'edge cases (top-bit addresses, ports 0:0 and 65535:65535, proto 255 / mask 0, /0 any-any last)', rules: edgeCaseAcl() },
      { name: 'empty rule set', rules: [] },
    ],
  };
  return aclFixtures;
}

/** The reference's answers for `io` over `rules`. */
function aclWant(rules: readonly AclRule[], io: AclMatchIo): Int32Array {
  const want = new Int32Array(io.count);
  aclMatchReference(rules, { ...io, outputs: { rule: want } });
  return want;
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

// The flow-lookup tables are what their names say (so a pass means what it claims).
it('flow-lookup fixtures: two buckets full to the last slot, a one-bucket table, the captures parsed', () => {
  const [real, full, one] = flowTables();
  for (let e = 0; e < 2 * full.table.slots; e++) expect(full.table.isLive(e), `entry ${e} of buckets 0 and 1`).toBe(true);
  expect(full.table.counters.evictions).toBe(8);
  expect(one.table.buckets).toBe(1);
  expect(one.table.counters.evictions).toBe(3);
  expect(real.table.counters.size).toBeGreaterThan(2000 + 400);
  expect(captures().files.length).toBeGreaterThan(10);
  expect(ipv6Count(captures().keys, captures().count), "IPv6 packets in the shared captures").toBeGreaterThan(0);
});

// The acl-match rule sets are what their names say: every prefix length, port shape, protocol
// kind and action occurs; batches hit and miss, and hit rules deep in the list, not only the first.
it('acl-match fixtures: rule shapes present, batches hit many rules, miss, and match the empty set nowhere', () => {
  const { tuples, sets } = aclSets();
  const [real, realThenAny, edge, empty] = sets;
  expect(tuples.length).toBeGreaterThan(100);
  expect(tuples.some((t) => t.src < 0 || t.dst < 0), 'tuples with an address >= 128.0.0.0').toBe(true);
  expect(tuples.some((t) => t.proto === 6) && tuples.some((t) => t.proto === 17), 'TCP and UDP tuples').toBe(true);
  for (const len of [0, 8, 16, 24, 32]) expect(real.rules.some((r) => r.srcLen === len) && real.rules.some((r) => r.dstLen === len), `prefix length ${len}`).toBe(true);
  expect(real.rules.some((r) => r.sportLo === r.sportHi) && real.rules.some((r) => r.dportLo === 0 && r.dportHi === 65535)).toBe(true);
  expect(real.rules.some((r) => r.dportLo < r.dportHi && r.dportHi - r.dportLo < 65535)).toBe(true);
  expect(real.rules.some((r) => r.protoMask === 0) && real.rules.some((r) => r.protoMask === 0xff)).toBe(true);
  expect(new Set(real.rules.map((r) => r.action))).toEqual(new Set(['allow', 'deny']));
  const io = aclBatch(tuples, real.rules, 4096, 1);
  const want = aclWant(real.rules, io);
  const hit = want.filter((w) => w !== NO_RULE);
  expect(hit.length, 'hits').toBeGreaterThan(400);
  expect(want.length - hit.length, 'misses').toBeGreaterThan(400);
  expect(new Set(hit).size, 'distinct rules hit').toBeGreaterThan(40);
  expect(Math.max(...hit), 'deepest rule hit').toBeGreaterThan(300);
  const last = realThenAny.rules.length - 1;
  const wantAny = aclWant(realThenAny.rules, aclBatch(tuples, realThenAny.rules, 4096, 2));
  expect(wantAny.includes(NO_RULE)).toBe(false);
  expect(wantAny.includes(last)).toBe(true);
  const wantEdge = aclWant(edge.rules, aclBatch(tuples, edge.rules, 4096, 3));
  expect(new Set(wantEdge).size, 'every edge rule hit').toBe(edge.rules.length);
  expect(aclWant(empty.rules, aclBatch(tuples, empty.rules, 4096, 4)).every((w) => w === NO_RULE)).toBe(true);
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

      if (contract.name === FLOW_LOOKUP) {
        it(`matches flowLookup on flow tables of real and generated keys, batches ${BATCH_SIZES.join('/')}`, { timeout: FIRST_USE_TIMEOUT_MS }, async (ctx) => {
          if (backend === null) return ctx.skip();
          for (const { name, table, pools } of flowTables()) {
            const h = await backend.loadStructure(FLOW_TABLE, table.image.slice(), 0);
            try {
              for (const [k, n] of BATCH_SIZES.entries()) {
                const { io } = lookupBatch(pools, n, 700 + k);
                const { want, hits } = flowWant(table.image, io);
                // Each table's batches hold both answers, so a form that always misses (or always hits) fails.
                if (n >= 256) expect(hits > 0 && hits < n, `${name}, batch ${n}: ${hits} hits`).toBe(true);
                await backend.runKernel(FLOW_LOOKUP, io, [h]);
                expect(firstMismatch(io, io.outputs.entry, want), `${label}, ${name}, batch ${n}`).toBeNull();
              }
            } finally {
              await backend.releaseStructure(h);
            }
          }
        });

        it('follows deltas between batches (inserts, hits, evictions, expiry) and reads back the same image', { timeout: FIRST_USE_TIMEOUT_MS }, async (ctx) => {
          if (backend === null) return ctx.skip();
          const c = captures();
          const t = new FlowTable({ capacity: 256, seed: 3, sweepSeconds: 1 });
          const snap = t.snapshot();
          const h: StructureHandle = await backend.loadStructure(FLOW_TABLE, snap.image, snap.generation);
          try {
            const per = Math.ceil(c.count / 6);
            const seen: Uint32Array[] = [];
            let sec = 1000;
            for (let step = 0; step < 6; step++) {
              // A slice of the captures, then generated flows beyond the capacity (evictions); at
              // step 3 the clock jumps past every idle timeout, so the sweep expires the table.
              for (let i = step * per; i < Math.min(c.count, (step + 1) * per); i++) t.classify(c.keys, i * KEY_WORDS, c.reversed[i] === 1, sec, (i % 1000) * 1000, c.tcpFlags[i]);
              const gen = generatedKeys(step * 150, 150);
              seen.push(gen);
              insertAll(t, gen, sec + 1, 0);
              sec += step === 3 ? 400 : 2;
              const d = t.takeDelta();
              await backend.applyDelta(h, d);
              expect(h.generation).toBe(d.toGeneration);
              const { io } = lookupBatch([c.keys, ...seen, randomKeys(64, step)], 4096, 900 + step);
              const { want } = flowWant(t.image, io);
              await backend.runKernel(FLOW_LOOKUP, io, [h]);
              expect(firstMismatch(io, io.outputs.entry, want), `${label} after delta step ${step}`).toBeNull();
            }
            expect(t.counters.evictions).toBeGreaterThan(0);
            expect(t.counters.expirations).toBeGreaterThan(0);
            const back = await backend.readStructure(h);
            expect(h.words).toBe(t.image.length);
            expect(Buffer.from(back.buffer, back.byteOffset, h.words * 4).equals(Buffer.from(t.image.buffer, t.image.byteOffset, h.words * 4))).toBe(true);
            await expect(backend.applyDelta(h, { kind: FLOW_TABLE, fromGeneration: h.generation + 5, toGeneration: h.generation + 6, length: t.image.length, writes: [] })).rejects.toThrow(/generation/);
          } finally {
            await backend.releaseStructure(h);
          }
        });
      }

      if (contract.name === FLOW_HASH) {
        it(`matches the reference on random tuples and every protocol kind, batches ${BATCH_SIZES.join('/')}`, { timeout: FIRST_USE_TIMEOUT_MS }, async (ctx) => {
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

      if (contract.name === ACL_MATCH) {
        it(`matches aclMatchReference on rule sets from real tuples, edge cases and no rules, batches ${BATCH_SIZES.join('/')}`, { timeout: FIRST_USE_TIMEOUT_MS }, async (ctx) => {
          if (backend === null) return ctx.skip();
          const { tuples, sets } = aclSets();
          for (const [s, { name, rules }] of sets.entries()) {
            const image = aclImage(rules);
            const h = await backend.loadStructure(ACL_RULES_V4, image.slice(), 1);
            try {
              for (const [k, n] of BATCH_SIZES.entries()) {
                const io = aclBatch(tuples, rules, n, 500 + 10 * s + k);
                const want = aclWant(rules, io);
                await backend.runKernel(ACL_MATCH, io, [h]);
                expect(firstMismatch(io, io.outputs.rule, want), `${label}, ${name}, batch ${n}`).toBeNull();
              }
            } finally {
              await backend.releaseStructure(h);
            }
          }
        });

        it('follows aclReplaceDelta to rule sets of other lengths (shorter, empty, longer), reads back the new image, refuses a stale or headerless delta', { timeout: FIRST_USE_TIMEOUT_MS }, async (ctx) => {
          if (backend === null) return ctx.skip();
          const { tuples, sets } = aclSets();
          const [real, , edge, empty] = sets;
          const longer: AclSet = { name: '600 other rules from the tuples, then the edge cases', rules: [...aclRulesFromTuples(tuples, 600, 0xbee), ...edgeCaseAcl()] };
          const b: Backend = backend;
          const h: StructureHandle = await b.loadStructure(ACL_RULES_V4, aclImage(real.rules), 1);
          try {
            expect(h.generation).toBe(1);
            expect(h.words).toBe(aclImage(real.rules).length);
            let rules = real.rules;
            const check = async (step: string, seed: number): Promise<void> => {
              const io = aclBatch(tuples, rules, 4096, seed);
              const want = aclWant(rules, io);
              await b.runKernel(ACL_MATCH, io, [h]);
              expect(firstMismatch(io, io.outputs.rule, want), `${label} ${step}`).toBeNull();
            };
            await check('before any delta', 40);
            for (const [step, next] of [edge, empty, longer].entries()) {
              const to = aclImage(next.rules);
              const from = h.generation;
              await backend.applyDelta(h, aclReplaceDelta(to, from));
              expect(h.generation, `after the delta to ${next.name}`).toBe(from + 1);
              expect(h.words).toBe(to.length);
              rules = next.rules;
              await check(`after the delta to ${next.name}`, 41 + step);
              const back = await backend.readStructure(h);
              expect(back.length).toBeGreaterThanOrEqual(h.words);
              expect(Array.from(back.subarray(0, h.words)), `${label} reads back ${next.name}`).toEqual(Array.from(to));
            }
            // A delta made for another generation is refused, and so is one that does not write the
            // header; neither changes what the backend holds.
            const stale = aclReplaceDelta(aclImage(edge.rules), h.generation + 5);
            await expect(backend.applyDelta(h, stale)).rejects.toThrow(/generation/);
            const old = aclReplaceDelta(aclImage(edge.rules), h.generation - 1);
            await expect(backend.applyDelta(h, old)).rejects.toThrow(/generation/);
            const headerless = aclReplaceDelta(aclImage(edge.rules), h.generation);
            headerless.writes = headerless.writes.filter((w) => w.offset !== 0);
            await expect(backend.applyDelta(h, headerless)).rejects.toThrow('an ACL delta replaces the rule set and must write the header');
            expect(h.generation).toBe(4);
            await check('after the refused deltas', 45);
            const back = await backend.readStructure(h);
            expect(Array.from(back.subarray(0, h.words))).toEqual(Array.from(aclImage(longer.rules)));
          } finally {
            await backend.releaseStructure(h);
          }
        });

        it('refuses a malformed image', async (ctx) => {
          if (backend === null) return ctx.skip();
          const bad = aclImage(edgeCaseAcl());
          bad[0] = 0xdeadbeef;
          await expect(backend.loadStructure(ACL_RULES_V4, bad, 1)).rejects.toThrow(`${form.backend}: not a acl-rules-v4 image (96 words): magic 0xdeadbeef, expected 0x41434c34 ('ACL4')`);
          await expect(backend.loadStructure(ACL_RULES_V4, aclImage(edgeCaseAcl()).subarray(0, 90), 1)).rejects.toThrow(`length 90 words, the header says 96 (11 rules x 8 words + header)`);
        });
      }
    });
  }
}
