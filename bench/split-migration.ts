/**
 * Split migration bench: live migrations of an ip-lookup kernel that involve split placements
 * (core/migration with a split seam, core/offload/split-dispatch), on the full table while a
 * steady stream of batches runs, against the single migration cpu -> DEVICE measured in the
 * same run (interleaved, REPEAT times each):
 *   - cpu -> DEVICE:0.5,cpu: a new runner copied and verified, as the single move does;
 *   - DEVICE:0.7,cpu -> DEVICE:0.3,cpu: new shares only, no state moved;
 *   - DEVICE:0.5,cpu -> DEVICE: the device part kept, the split ended;
 *   - DEVICE -> DEVICE:0.5,cpu: the device runner kept, the split begun.
 * Figures: total time (request to source released) and pause (the stop phase), bytes copied.
 * DEVICE is HETBOX_BENCH_SPLIT_DEVICE (default webgpu: lavapipe here); HETBOX_BENCH_MIGRATION_SIZES
 * as the migration bench (default the full table).
 */
import os from 'node:os';
import type { BackendName, KernelIo } from '../core/backend.js';
import { getBackend } from '../core/backend-registry.js';
import { IP_LOOKUP, ipLookupCpu } from '../core/kernels/ip-lookup/index.js';
import { Migrator } from '../core/migration/migrator.js';
import { percentile } from '../core/migration/batch-latencies.js';
import type { MigrationSite } from '../core/migration/migration-site.js';
import type { MigrationRecord } from '../core/migration/migration-record.js';
import { isInlineCpu, parsePlacement, partLabel, type PlacedPart } from '../core/migration/placement.js';
import { OffloadRunner } from '../core/offload/offload-runner.js';
import { SplitDispatch } from '../core/offload/split-dispatch.js';
import type { MultiFib } from '../core/structures/multi-fib/multi-fib.js';
import { MULTI_FIB_V4 } from '../core/structures/multi-fib/image-format.js';
import { fullTableFib, randomLookupIo } from './full-table.js';
import type { BenchReport, BenchSection } from './report.js';

const BATCH = 256;
const IN_FLIGHT = 3;
const REPEAT = Math.max(1, Number(process.env.HETBOX_BENCH_MIGRATION_REPEAT ?? 3));
const DEVICE: BackendName = process.env.HETBOX_BENCH_SPLIT_DEVICE ?? 'webgpu';
const STEADY_MS = 300;

/** A lookup reduced to what migration touches, with a split seam: where each batch runs, and steady traffic. */
class SplitBench {
  parts: PlacedPart[] = [];
  dispatch: SplitDispatch | null = null;
  private stopped = false;
  private lanes: Promise<void>[] = [];
  private next = 0;
  readonly migrator: Migrator;
  private readonly env: MigrationSite['env'];

  constructor(
    readonly fib: MultiFib,
    private readonly ios: KernelIo[],
  ) {
    this.env = { log: { info: () => undefined, warn: (m) => process.stdout.write(`  warning: ${m}\n`) }, strictBackends: true, backend: (n) => getBackend(n) };
    this.migrator = new Migrator({
      owner: 'bench',
      kernel: IP_LOOKUP,
      env: this.env,
      maxInFlight: IN_FLIGHT,
      structures: [{ kind: MULTI_FIB_V4, image: () => fib.image, generation: () => fib.generation, onDelta: (f) => fib.onDelta(f) }],
      warmUpIo: () => randomLookupIo(1, 1),
      current: () => (this.dispatch === null ? (this.parts[0]?.runner ?? null) : null),
      install: (r) => this.install([{ backend: r === null ? 'cpu' : DEVICE, weight: 1, runner: r }]),
      split: { parts: () => (this.dispatch === null ? null : this.parts), install: (ps) => this.install(ps) },
    });
  }

  private install(parts: readonly PlacedPart[]): void {
    this.parts = [...parts];
    this.dispatch = parts.length > 1 ? new SplitDispatch(parts.map((p) => ({ label: partLabel(p), weight: p.weight }))) : null;
  }

  /** Open the starting placement directly (no migration). */
  async place(spec: string): Promise<void> {
    const parts: PlacedPart[] = [];
    for (const p of parsePlacement(spec)) {
      let runner: OffloadRunner | null = null;
      if (!isInlineCpu(p)) {
        runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: p.backend, owner: 'bench', env: this.env, maxInFlight: IN_FLIGHT });
        await runner.addStructure(MULTI_FIB_V4, this.fib.image, this.fib.generation);
      }
      parts.push({ ...p, runner });
    }
    this.install(parts);
  }

  start(): void {
    this.stopped = false;
    this.lanes = Array.from({ length: IN_FLIGHT }, async () => {
      while (!this.stopped) {
        const io = this.ios[this.next++ % this.ios.length];
        const r = this.dispatch === null ? (this.parts[0]?.runner ?? null) : this.parts[this.dispatch.pick(io.count)].runner;
        if (r === null) ipLookupCpu(this.fib.imageI32, io as Parameters<typeof ipLookupCpu>[1]);
        else await r.run(io);
        // Let device I/O and timers run between batches, as the scheduler's time slices do.
        await new Promise((res) => setImmediate(res));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
    for (const p of this.parts) await p.runner?.close();
  }
}

interface Move {
  name: string;
  from: string;
  to: string;
}

async function once(fib: MultiFib, ios: KernelIo[], m: Move): Promise<MigrationRecord> {
  const b = new SplitBench(fib, ios);
  await b.place(m.from);
  b.start();
  await new Promise((res) => setTimeout(res, STEADY_MS));
  const rec = await b.migrator.migrate(m.to, { timeoutMs: 600_000 });
  await b.stop();
  return rec;
}

export async function run(report: BenchReport): Promise<void> {
  const t0 = performance.now();
  const fib = fullTableFib();
  const routes = fib.fibNames()[0].routes;
  const ios = Array.from({ length: 8 }, (_v, k) => randomLookupIo(BATCH, 200 + k));
  const section: BenchSection = report.section(`split migration: ip-lookup live moves to, from and between splits on ${DEVICE} and inline cpu, full table, batch ${BATCH}, ${IN_FLIGHT} in flight`);
  report.note(section, `full table ${routes} prefixes (${(fib.image.byteLength / 2 ** 20).toFixed(1)} MiB) loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  const base: Move = { name: `cpu->${DEVICE} (single, copied)`, from: 'cpu', to: DEVICE };
  const moves: Move[] = [
    base,
    { name: `cpu->${DEVICE}:0.5,cpu (split, device part copied)`, from: 'cpu', to: `${DEVICE}:0.5,cpu` },
    { name: `${DEVICE}:0.7,cpu->${DEVICE}:0.3,cpu (new shares, no state moved)`, from: `${DEVICE}:0.7,cpu`, to: `${DEVICE}:0.3,cpu` },
    { name: `${DEVICE}:0.5,cpu->${DEVICE} (split ended, device part kept)`, from: `${DEVICE}:0.5,cpu`, to: DEVICE },
    { name: `${DEVICE}->${DEVICE}:0.5,cpu (split begun, device runner kept)`, from: DEVICE, to: `${DEVICE}:0.5,cpu` },
  ];
  const recs = new Map<string, MigrationRecord[]>(moves.map((m) => [m.name, []]));
  // Interleaved: every move once per round, the order rotated each round.
  for (let k = 0; k < REPEAT; k++) {
    for (let j = 0; j < moves.length; j++) {
      const m = moves[(j + k) % moves.length];
      const rec = await once(fib, ios, m);
      if (rec.status !== 'done') report.note(section, `${m.name}: rolled back: ${rec.reason ?? ''}`);
      else recs.get(m.name)!.push(rec);
    }
  }
  for (const m of moves) {
    const rs = recs.get(m.name)!;
    if (rs.length === 0) continue;
    const totals = rs.map((r) => r.totalMs);
    const pauses = rs.map((r) => r.pauseMs);
    report.add(section, {
      name: m.name,
      value: percentile(totals, 50),
      unit: 'ms total',
      ...(m === base ? {} : { baseline: base.name }),
      extra: { runs: rs.length, pauseMsP50: percentile(pauses, 50), pauseMaxMs: Math.max(...pauses), totalMinMs: Math.min(...totals), totalMaxMs: Math.max(...totals), bytes: rs[0].bytesCopied, drained: rs[0].batchesDrained, note: rs[0].note ?? '' },
    });
  }
  report.note(section, 'total: from the request to the runners no longer used released (median of HETBOX_BENCH_MIGRATION_REPEAT runs, interleaved); pause: the stop phase (generation check, checksum compare, switch of parts and shares)');
}
