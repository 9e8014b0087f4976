/**
 * Live migration of one element's kernel between locations (cpu inline, webgpu, gpujs, fpga,
 * null) while traffic flows.
 *
 * Protocol, per request:
 *  1. Pre-copy: open a runner on the target (no fallback: a target that cannot serve is an
 *     error, not a quiet move to cpu), and for each structure take a copy of the element's image
 *     and subscribe to its deltas in one synchronous step, then load the copy. Deltas published
 *     meanwhile are held and forwarded once the load is done; from then on each new delta goes
 *     to the target as it is published. The source keeps serving and keeps getting every delta
 *     through the element's own path, so each side applies each delta exactly once; the
 *     runner's generation check refuses any that does not follow the generation it holds.
 *     A warm-up run on the target (when the element gives columns for one) compiles its
 *     kernel now rather than in the first batch after the switch.
 *  2. Verify: read the target's image back and, in the same synchronous step as the switch,
 *     check that no delta arrived during the read, that the target's device and host copies are
 *     at the element's generation, and that the image equals the element's word for word.
 *     A delta during the read means read again (bounded).
 *  3. Switch: install the target at a batch boundary (batches already started finish on the
 *     source; the scheduler keeps outputs in batch sequence order), end the subscription (the
 *     element's own delta path now feeds the target), let the target fall back as any runner.
 *  4. Release: wait for the source's batches in flight (counted: batches drained), close it.
 *
 * Any failure before the switch (target unavailable, load or delta error, a refused size, a
 * verification mismatch, the timeout) rolls back: the target is discarded, the source never
 * stopped serving, and the reason goes to a log line, the record and the run summary. The small
 * mutable state (counters) stays in the element, which is the same object on both sides, so the
 * stop phase has nothing else to copy. One migration at a time per element: a second request
 * is refused with the one in progress named.
 */
import { OffloadRunner } from '../offload/offload-runner.js';
import type { ImageDelta } from '../structures/image.js';
import { deltaWords } from '../structures/image.js';
import type { MigrationSite, MigrationTarget } from './migration-site.js';
import { formatMigration, type MigrationRecord } from './migration-record.js';
import { percentile } from './batch-latencies.js';

export type MigrationPhase = 'precopy' | 'verify' | 'switched' | 'released' | 'rolled back';

export interface MigrateOptions {
  /** Rollback if the target is not verified and switched by then (default 120 s: a cold FPGA build is slow). */
  timeoutMs?: number;
  /** Variant of the target backend (gpu.js's mode). */
  variant?: string;
  /** Told of each phase as it starts (tests write route updates during pre-copy on 'precopy'). */
  onPhase?: (phase: MigrationPhase, record: Readonly<MigrationRecord>) => void;
}

/** A request that was not started (one in progress, already there): nothing happened. */
export class MigrationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationRefused';
  }
}

/** Batches before a migration taken as its steady state (the delay it adds is against these). */
const STEADY_BATCHES = 256;

/** Reads of the target made before giving up on a table that changes during every read. */
const VERIFY_ATTEMPTS = 20;

export class Migrator {
  private readonly records: MigrationRecord[] = [];
  private running: { from: string; to: string; done: Promise<MigrationRecord> } | null = null;

  constructor(private readonly site: MigrationSite) {}

  /** Where the kernel runs now: a backend name; 'cpu' for inline cpu or a runner that fell back. */
  location(): string {
    const r = this.site.current();
    return r === null ? 'cpu' : r.status().backend;
  }

  /** The `location` handler: as location(), saying when cpu is inline or a fallback. */
  locationText(): string {
    const r = this.site.current();
    if (r === null) return 'cpu (inline)';
    const s = r.status();
    return s.fallbackReason !== null ? `${s.backend} (fallback: ${s.fallbackReason})` : s.backend;
  }

  get history(): readonly MigrationRecord[] {
    return this.records;
  }

  /** The `migrations` handler: one line per migration, oldest first, then one for a migration in progress. */
  historyText(): string {
    const lines = this.records.map(formatMigration);
    if (this.running !== null) lines.push(`in progress: ${this.running.from} -> ${this.running.to}`);
    return lines.map((l) => `${l}\n`).join('');
  }

  /**
   * Move the kernel to `to`. Resolves with the record once switched and the source released, or
   * once rolled back (status and reason say which); rejects with MigrationRefused when not started.
   */
  migrate(to: MigrationTarget, opts: MigrateOptions = {}): Promise<MigrationRecord> {
    const owner = this.site.owner;
    if (this.running !== null) {
      return Promise.reject(new MigrationRefused(`${owner}: migration to ${to} refused: a migration to ${this.running.to} is in progress`));
    }
    const from = this.location();
    if (from === to && (to !== 'cpu' || this.site.current() === null)) {
      return Promise.reject(new MigrationRefused(`${owner}: migration to ${to} refused: it runs on ${to} already`));
    }
    const done = this.run(from, to, opts).finally(() => {
      this.running = null;
    });
    this.running = { from, to, done };
    return done;
  }

  /** Settles once no migration is in progress (the element's cleanup waits for this). */
  async idle(): Promise<void> {
    await this.running?.done.catch(() => undefined);
  }

  /** Fields for the run summary. */
  summary(): Record<string, number | string> {
    // Nothing until a migration was asked for: a run without one summarizes as before.
    if (this.records.length === 0) return {};
    const out: Record<string, number | string> = { location: this.location() };
    const failed = this.records.filter((m) => m.status !== 'done');
    out.migrations = this.records.length - failed.length;
    out.migrations_rolled_back = failed.length;
    const last = failed[failed.length - 1];
    if (last !== undefined) out.migration_rollback = `#${last.id} ${last.from} -> ${last.to}: ${last.reason ?? ''}`;
    return out;
  }

  private async run(from: string, to: MigrationTarget, opts: MigrateOptions): Promise<MigrationRecord> {
    const site = this.site;
    const t0 = performance.now();
    const rec: MigrationRecord = { id: this.records.length + 1, from, to, status: 'done', reason: null, bytesCopied: 0, deltas: 0, precopyMs: 0, pauseMs: 0, totalMs: 0, batchesDrained: 0, generation: site.structures[0]?.generation() ?? 0, delay: null };
    const steady = site.latencies?.last(STEADY_BATCHES) ?? [];
    const mark = site.latencies?.mark() ?? 0;
    const delay = (): void => {
      const lat = site.latencies;
      if (lat === undefined) return;
      const during = lat.since(mark);
      rec.delay = { steadyP50: percentile(steady, 50), steadyP99: percentile(steady, 99), duringP50: percentile(during, 50), duringP99: percentile(during, 99), batches: during.length };
    };
    const source = site.current();
    const unsubscribe: (() => void)[] = [];
    let target: OffloadRunner | null = null;
    let forwardFailure: unknown = null;
    // Set by the timer; checked right before the switch, which is synchronous with the check.
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const forward = (runner: OffloadRunner, index: number, d: ImageDelta): void => {
      rec.deltas++;
      rec.bytesCopied += deltaWords(d) * 4;
      runner.applyDelta(index, d).catch((e: unknown) => {
        forwardFailure ??= e;
      });
    };

    const precopyAndSwitch = async (): Promise<void> => {
      if (to !== 'cpu') {
        const t = await OffloadRunner.open({ kernel: site.kernel, backend: to, owner: site.owner, env: site.env, maxInFlight: site.maxInFlight, fallback: false, ...(opts.variant === undefined ? {} : { variant: opts.variant }), ...(site.stats === undefined ? {} : { stats: site.stats }) });
        if (cancelled) {
          // Opened after the rollback (the timeout fired meanwhile): nobody else will close it.
          void t.close().catch(() => undefined);
          throw new Error('cancelled');
        }
        target = t;
        for (let i = 0; i < site.structures.length; i++) {
          const st = site.structures[i];
          // Copy and subscribe in one synchronous step: every later delta is caught, no earlier one.
          const image = st.image().slice();
          const generation = st.generation();
          const held: ImageDelta[] = [];
          let loaded = false;
          unsubscribe.push(
            st.onDelta((d) => {
              if (loaded) forward(t, i, d);
              else held.push(d);
            }),
          );
          rec.bytesCopied += image.byteLength;
          const loading = t.addStructure(st.kind, image, generation);
          if (i === 0) opts.onPhase?.('precopy', rec);
          const index = await loading;
          if (index !== i) throw new Error(`target put structure #${i} at #${index}`);
          loaded = true;
          for (const d of held) forward(t, i, d);
        }
        const io = site.warmUpIo?.();
        if (io !== undefined) await t.warmUp(io);
      } else opts.onPhase?.('precopy', rec);
      opts.onPhase?.('verify', rec);
      for (let attempt = 1; ; attempt++) {
        if (forwardFailure !== null) throw forwardFailure;
        const before = site.structures.map((s) => s.generation());
        const t = target as OffloadRunner | null;
        const reads = t === null ? [] : await Promise.all(site.structures.map((_s, i) => t.readStructure(i)));
        if (forwardFailure !== null) throw forwardFailure;
        if (cancelled) throw new Error('cancelled');
        // Stop phase: from here to the switch nothing else runs (no batch starts, no delta lands).
        const p0 = performance.now();
        if (site.structures.some((s, i) => s.generation() !== before[i])) {
          if (attempt >= VERIFY_ATTEMPTS) throw new Error(`verification: the structure changed during each of ${VERIFY_ATTEMPTS} reads of the target`);
          continue;
        }
        if (t !== null) site.structures.forEach((s, i) => verify(i, s.image(), s.generation(), reads[i], t.generations(i)));
        site.install(t);
        t?.enableFallback();
        for (const u of unsubscribe.splice(0)) u();
        rec.generation = site.structures[0]?.generation() ?? 0;
        rec.pauseMs = performance.now() - p0;
        rec.precopyMs = p0 - t0;
        return;
      }
    };

    try {
      const timeoutMs = opts.timeoutMs ?? 120_000;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          cancelled = true;
          reject(new Error(`timed out after ${timeoutMs} ms before the switch`));
        }, timeoutMs);
      });
      const work = precopyAndSwitch();
      // The loser of the race must not be reported as unhandled.
      work.catch(() => undefined);
      await Promise.race([work, timeout]);
    } catch (e) {
      cancelled = true;
      for (const u of unsubscribe.splice(0)) u();
      const t = target as OffloadRunner | null;
      // Not awaited: a target that hangs must not hold up the source, which never stopped serving.
      if (t !== null) void t.close().catch(() => undefined);
      rec.status = 'rolled back';
      rec.reason = e instanceof Error ? e.message : String(e);
      rec.totalMs = performance.now() - t0;
      rec.precopyMs = rec.totalMs;
      delay();
      this.records.push(rec);
      site.env.log.warn(`${site.owner}: migration ${from} -> ${to} rolled back, ${this.location()} keeps serving: ${rec.reason}`);
      opts.onPhase?.('rolled back', rec);
      return rec;
    } finally {
      clearTimeout(timer);
    }
    opts.onPhase?.('switched', rec);
    // Release: batches the source started before the switch finish there first.
    rec.batchesDrained = source?.inFlight ?? 0;
    if (source !== null) await source.close();
    rec.totalMs = performance.now() - t0;
    delay();
    this.records.push(rec);
    site.env.log.info(`${site.owner}: ${formatMigration(rec)}`);
    opts.onPhase?.('released', rec);
    return rec;
  }
}

/** The target's image must be the element's, word for word, at the element's generation on both of the target's copies. */
function verify(index: number, host: Uint32Array, generation: number, read: Uint32Array, gens: { host: number; device: number }): void {
  if (gens.host !== generation || gens.device !== generation) {
    throw new Error(`verification: structure #${index} is at generation ${gens.device} on the target (host copy ${gens.host}), the element at ${generation}`);
  }
  if (read.length !== host.length) throw new Error(`verification: structure #${index} has ${read.length} words on the target, ${host.length} on the host`);
  for (let w = 0; w < host.length; w++) {
    if (read[w] !== host[w]) throw new Error(`verification: structure #${index} differs at word ${w} (target 0x${read[w].toString(16)}, host 0x${host[w].toString(16)})`);
  }
}
