/**
 * Migration bench: live migration of an ip-lookup kernel (core/migration) between locations
 * while a steady stream of batches runs, per pair (cpu -> webgpu -> fpga -> gpujs -> cpu) and
 * table size (1K, 100K routes, the full 2023 table), against a naive stop-copy-restart measured
 * in the same run: stop the traffic, wait for it, load the target, release the source, restart.
 *
 * Figures: pause (live: the stop phase, the only time no batch can start; naive: from stop to
 * restart; the live pause with the stop phase's incremental-checksum compare against the same
 * with a word-for-word compare of the whole image, interleaved in the same run), total time, bytes copied, and the batch latency p50/p99 during the migration
 * against steady state before it. HETBOX_BENCH_MIGRATION_SIZES (e.g. "1000,100000") limits the
 * sizes; the full table is "full".
 */
import os from 'node:os';
import type { BackendName, KernelIo } from '../core/backend.js';
import { getBackend } from '../core/backend-registry.js';
import { IP_LOOKUP, ipLookupCpu } from '../core/kernels/ip-lookup/index.js';
import { Migrator } from '../core/migration/migrator.js';
import { percentile } from '../core/migration/batch-latencies.js';
import type { MigrationSite } from '../core/migration/migration-site.js';
import type { MigrationRecord } from '../core/migration/migration-record.js';
import { OffloadRunner } from '../core/offload/offload-runner.js';
import { MultiFib } from '../core/structures/multi-fib/multi-fib.js';
import { MULTI_FIB_V4 } from '../core/structures/multi-fib/image-format.js';
import { fullTableFib, randomLookupIo } from './full-table.js';
import type { BenchReport, BenchSection } from './report.js';

const BATCH = 256;
const IN_FLIGHT = 3;
/** Live migrations per pair and verification mode (HETBOX_BENCH_MIGRATION_REPEAT). */
const REPEAT = Math.max(1, Number(process.env.HETBOX_BENCH_MIGRATION_REPEAT ?? 3));
const ALL_PAIRS: [BackendName, BackendName][] = [
  ['cpu', 'webgpu'],
  ['webgpu', 'fpga'],
  ['fpga', 'gpujs'],
  ['gpujs', 'cpu'],
];
/** HETBOX_BENCH_MIGRATION_PAIRS (e.g. "cpu-webgpu,fpga-cpu") picks pairs; default the cycle above. */
const PAIRS: [BackendName, BackendName][] =
  process.env.HETBOX_BENCH_MIGRATION_PAIRS?.split(',').map((p) => p.trim().split('-') as [BackendName, BackendName]) ?? ALL_PAIRS;

/** A lookup element reduced to what migration touches: a multi-FIB, where it runs, and steady traffic. */
class Bench {
  runner: OffloadRunner | null = null;
  latencies: number[] = [];
  private stopped = false;
  private lanes: Promise<void>[] = [];
  private next = 0;
  readonly migrator: Migrator;
  readonly site: MigrationSite;

  constructor(
    readonly fib: MultiFib,
    private readonly ios: KernelIo[],
  ) {
    const env: MigrationSite['env'] = { log: { info: () => undefined, warn: (m) => process.stdout.write(`  warning: ${m}\n`) }, strictBackends: true, backend: (n) => getBackend(n) };
    this.site = {
      owner: 'bench',
      kernel: IP_LOOKUP,
      env,
      maxInFlight: IN_FLIGHT,
      structures: [{ kind: MULTI_FIB_V4, image: () => fib.image, generation: () => fib.generation, onDelta: (f) => fib.onDelta(f) }],
      warmUpIo: () => randomLookupIo(1, 1),
      current: () => this.runner,
      install: (r) => {
        this.runner = r;
      },
    };
    this.migrator = new Migrator(this.site);
  }

  async place(to: BackendName): Promise<void> {
    if (to === 'cpu') return;
    const r = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: to, owner: 'bench', env: this.site.env, maxInFlight: IN_FLIGHT });
    await r.addStructure(MULTI_FIB_V4, this.fib.image, this.fib.generation);
    this.runner = r;
  }

  /** IN_FLIGHT lanes of back-to-back batches; each batch's latency is recorded. */
  start(): void {
    this.stopped = false;
    this.lanes = Array.from({ length: IN_FLIGHT }, async () => {
      while (!this.stopped) {
        const io = this.ios[this.next++ % this.ios.length];
        const t0 = performance.now();
        const r = this.runner;
        if (r === null) ipLookupCpu(this.fib.imageI32, io as Parameters<typeof ipLookupCpu>[1]);
        else await r.run(io);
        this.latencies.push(performance.now() - t0);
        // Inline cpu and gpu.js work synchronously: let device I/O (the FPGA simulator's pipe, a
        // draining source) and timers run between batches, as the scheduler's time slices do.
        await new Promise((res) => setImmediate(res));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
  }

  /** Latencies recorded since the last call. */
  take(): number[] {
    return this.latencies.splice(0);
  }
}

function tableOf(full: MultiFib, n: number): MultiFib {
  if (n >= full.fibNames()[0].routes) return full;
  const mf = new MultiFib(['default']);
  const routes = full.routesOf(0).slice(0, n);
  const hops = new Map<number, number>();
  for (const r of routes) if (!hops.has(r.nextHop)) hops.set(r.nextHop, mf.nextHops.intern(full.nextHops.get(r.nextHop)));
  mf.applyChanges(routes.map((r) => ({ op: 'add' as const, fib: 0, prefix: r.prefix, len: r.len, nextHop: hops.get(r.nextHop)! })));
  return mf;
}

const steadyMs = 300;

async function steady(b: Bench): Promise<number[]> {
  b.take();
  await new Promise((res) => setTimeout(res, steadyMs));
  return b.take();
}

export async function run(report: BenchReport): Promise<void> {
  const t0 = performance.now();
  const full = fullTableFib();
  const fullRoutes = full.fibNames()[0].routes;
  const sizes = (process.env.HETBOX_BENCH_MIGRATION_SIZES ?? '1000,100000,full').split(',').map((s) => (s.trim() === 'full' ? fullRoutes : Number(s)));
  const ios = Array.from({ length: 8 }, (_v, k) => randomLookupIo(BATCH, 100 + k));
  const section: BenchSection = report.section(`migration: ip-lookup live (pre-copy, verify, switch at a batch boundary) vs naive stop-copy-restart, batch ${BATCH}, ${IN_FLIGHT} in flight`);
  report.note(section, `full table ${fullRoutes} prefixes loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores; webgpu is lavapipe and fpga is Verilator (software)`);
  for (const n of sizes) {
    const fib = tableOf(full, n);
    const label = n >= fullRoutes ? 'full' : n >= 1000 ? `${Math.round(n / 1000)}K` : String(n);
    const mib = (fib.image.byteLength / 2 ** 20).toFixed(1);
    for (const [from, to] of PAIRS) {
      const name = `${from}->${to} ${label} routes (${mib} MiB)`;
      // A/B in the same run, interleaved: the stop phase's checksum compare (now) against its
      // word-for-word compare of the whole image (before), REPEAT times each.
      const runs: Record<'checksum' | 'words', LiveRun[]> = { checksum: [], words: [] };
      let failed: string | null = null;
      for (let k = 0; k < REPEAT && failed === null; k++) {
        for (const verify of k % 2 === 0 ? (['words', 'checksum'] as const) : (['checksum', 'words'] as const)) {
          const r = await liveOnce(fib, ios, from, to, verify);
          if (r.rec.status !== 'done') failed = r.rec.reason ?? '';
          else runs[verify].push(r);
        }
      }
      if (failed !== null) {
        report.note(section, `${name}: live migration rolled back: ${failed}`);
        continue;
      }
      report.add(section, {
        name: `naive ${name}`,
        value: await naive(fib, ios, from, to),
        unit: 'ms pause',
      });
      const pauses = (v: 'checksum' | 'words'): number[] => runs[v].map((r) => r.rec.pauseMs);
      report.add(section, {
        name: `live, word compare ${name}`,
        value: percentile(pauses('words'), 50),
        unit: 'ms pause',
        baseline: `naive ${name}`,
        extra: { runs: REPEAT, pauseMinMs: Math.min(...pauses('words')), pauseMaxMs: Math.max(...pauses('words')) },
      });
      const r = runs.checksum[runs.checksum.length >> 1];
      const interval = percentile(r.before, 50);
      report.add(section, {
        name: `live ${name}`,
        value: percentile(pauses('checksum'), 50),
        unit: 'ms pause',
        baseline: `live, word compare ${name}`,
        extra: { runs: REPEAT, pauseMinMs: Math.min(...pauses('checksum')), pauseMaxMs: Math.max(...pauses('checksum')), totalMs: r.rec.totalMs, precopyMs: r.rec.precopyMs, bytes: r.rec.bytesCopied, drained: r.rec.batchesDrained, batchMsP50: interval, steadyP99: percentile(r.before, 99), duringP50: percentile(r.during, 50), duringP99: percentile(r.during, 99), pauseUnderBatch: r.rec.pauseMs < interval },
      });
    }
  }
  report.note(section, 'pause: live = the stop phase (final generation check, checksum compare, switch; "word compare": the same with the whole image compared word for word, as before the incremental checksum), median of HETBOX_BENCH_MIGRATION_REPEAT runs interleaved with the word-compare runs; naive = traffic stopped, in-flight drained, target loaded, source released, traffic restarted. batchMsP50 is the steady batch interval per lane; during* are batch latencies while the live migration ran');
}

interface LiveRun {
  rec: MigrationRecord;
  before: number[];
  during: number[];
}

/** One live migration under traffic; verify says how the stop phase checks the target. */
async function liveOnce(fib: MultiFib, ios: KernelIo[], from: BackendName, to: BackendName, verify: 'checksum' | 'words'): Promise<LiveRun> {
  const live = new Bench(fib, ios);
  await live.place(from);
  live.start();
  const before = await steady(live);
  const rec = await live.migrator.migrate(to, { timeoutMs: 600_000, verify, onPhase: (p) => void (process.env.HETBOX_BENCH_DEBUG === '1' && process.stdout.write(`  [${from}->${to} ${verify} ${p}]\n`)) });
  const during = live.take();
  await live.stop();
  await live.runner?.close();
  return { rec, before, during };
}

/** Stop-copy-restart: the pause is everything from stopping the traffic to restarting it. */
async function naive(fib: MultiFib, ios: KernelIo[], from: BackendName, to: BackendName): Promise<number> {
  const b = new Bench(fib, ios);
  await b.place(from);
  b.start();
  await steady(b);
  const t0 = performance.now();
  await b.stop();
  const old = b.runner;
  b.runner = null;
  if (to !== 'cpu') {
    const r = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: to, owner: 'bench', env: b.site.env, maxInFlight: IN_FLIGHT });
    await r.addStructure(MULTI_FIB_V4, fib.image, fib.generation);
    b.runner = r;
  }
  await old?.close();
  b.start();
  const pause = performance.now() - t0;
  await b.stop();
  await b.runner?.close();
  return pause;
}
