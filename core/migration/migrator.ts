/**
 * Live migration of one element's kernel between locations (cpu inline, webgpu, gpujs, fpga,
 * null, or a split of its batches between two of them) while traffic flows.
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
 *  2. Verify: read the target's image back once per structure, ordered with the deltas (so
 *     the read's generation is exact), and keep two shadows current from then on: the source
 *     side (the image copied in step 1 plus every delta published since) and the target side
 *     (the read-back plus every delta forwarded after the read), each with a checksum that a
 *     delta updates in O(its words) (image-checksum.ts). Then, in the same synchronous step as
 *     the switch, check that the target has taken every delta the element published (its host
 *     copy at the element's generation) and that the two checksums agree: O(1) per structure,
 *     whatever the image's size. Deltas the device has not applied yet need no wait: the
 *     runner applies them before the first batch it runs, and one that fails there makes the
 *     target fall back visibly, as after any switch (under a steady source, a flow table
 *     publishes a delta every batch, so waiting for the device to catch up would never end).
 *     Tests can ask for `verify: 'words'`: a fresh read-back each attempt, at the element's
 *     generation on the device too, compared word for word in the stop phase (O(image)); a
 *     delta published during the read means read again (bounded).
 *  3. Switch: install the target at a batch boundary (batches already started finish on the
 *     source; the scheduler keeps outputs in batch sequence order), end the subscription (the
 *     element's own delta path now feeds the target), let the target fall back as any runner.
 *  4. Release: wait for the source's batches in flight (counted: batches drained), close it.
 *
 * Any failure before the switch (target unavailable, load or delta error, a refused size, a
 * verification mismatch, the timeout) rolls back: the target is discarded, the source never
 * stopped serving, and the reason goes to a log line, the record and the run summary. The small
 * mutable state (counters) stays in the element, which is the same object on both sides, so the
 * stop phase has nothing else to copy (a flow table's entries, timestamps and counters too: the
 * host stays its single writer, the target holds only the image its lookups read). One
 * migration at a time per element: a second request is refused with the one in progress named.
 *
 * Split placements (`webgpu:0.7,cpu`, on elements with a split seam): the source and the target
 * are sets of parts. A target part that a runner serving now already is (same backend, not
 * fallen back) keeps that runner: its image is current, nothing is copied. An inline cpu part
 * uses the element's own image. Every other target part gets a new runner, each taken through
 * steps 1 and 2 as above (target-copy.ts); the switch installs all parts and the credit
 * counter's new shares in one synchronous step, and step 4 releases the runners no longer used.
 * A change of shares between the same parts therefore moves no state (the log says so).
 */
import { OffloadRunner } from '../offload/offload-runner.js';
import type { MigrationSite, MigrationTarget } from './migration-site.js';
import { formatMigration, type MigrationRecord } from './migration-record.js';
import { percentile } from './batch-latencies.js';
import { TargetCopy, type ReadBack } from './target-copy.js';
import { isInlineCpu, parsePlacement, partLabel, placementLabel, shareText, type PlacedPart, type PlacementPart } from './placement.js';

export type MigrationPhase = 'precopy' | 'verify' | 'switched' | 'released' | 'rolled back';

export interface MigrateOptions {
  /** Rollback if the target is not verified and switched by then (default 120 s: a cold FPGA build is slow). */
  timeoutMs?: number;
  /** Variant of the target backend (gpu.js's mode), for a single backend named without one. */
  variant?: string;
  /**
   * How the stop phase checks the target: 'checksum' (default) compares an incremental checksum
   * of each side, O(1) per structure; 'words' (tests) reads the whole target image again and
   * compares it word for word, O(image).
   */
  verify?: 'checksum' | 'words';
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

/** Waits for the target to catch up (or reads, in words mode) before giving up on a structure that changes during every one. */
const VERIFY_ATTEMPTS = 50;

/** One part of the target and what serves it: a runner serving now (kept), the inline form, or a new runner (copied). */
interface PlannedPart {
  part: PlacementPart;
  runner: OffloadRunner | null;
  kept: boolean;
}

export class Migrator {
  private readonly records: MigrationRecord[] = [];
  private running: { from: string; to: string; done: Promise<MigrationRecord> } | null = null;

  constructor(private readonly site: MigrationSite) {}

  /** Where the kernel runs now: a backend name ('cpu' for inline cpu or a runner that fell back), or a split's label (`webgpu:0.7,cpu:0.3`). */
  location(): string {
    const parts = this.site.split?.parts() ?? null;
    if (parts !== null) return placementLabel(parts.map((p) => ({ ...servingAs(p), weight: p.weight })));
    const r = this.site.current();
    return r === null ? 'cpu' : r.status().backend;
  }

  /** The `location` handler: as location(), saying when cpu is inline or a fallback, and `split ...` for a split. */
  locationText(): string {
    const parts = this.site.split?.parts() ?? null;
    if (parts !== null) {
      const fallbacks = parts.flatMap((p) => (p.runner?.status().fallbackReason ?? null) === null ? [] : [`${partLabel(p)} part: ${p.runner!.status().fallbackReason!}`]);
      return `split ${this.location()}${fallbacks.length === 0 ? '' : ` (fallback: ${fallbacks.join('; ')})`}`;
    }
    const r = this.site.current();
    if (r === null) return 'cpu (inline)';
    const s = r.status();
    return s.fallbackReason !== null ? `${s.backend} (fallback: ${s.fallbackReason})` : s.backend;
  }

  /** True from `migrate` until its record settles: an element times every batch meanwhile (the delay it reports). */
  get inProgress(): boolean {
    return this.running !== null;
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
   * Move the kernel to `to` (a backend, or a split such as `webgpu:0.7,cpu` where the element can
   * run one). Resolves with the record once switched and the runners no longer used released, or
   * once rolled back (status and reason say which); rejects with MigrationRefused when not started.
   */
  migrate(to: MigrationTarget, opts: MigrateOptions = {}): Promise<MigrationRecord> {
    const owner = this.site.owner;
    if (this.running !== null) {
      return Promise.reject(new MigrationRefused(`${owner}: migration to ${to} refused: a migration to ${this.running.to} is in progress`));
    }
    let target: PlacementPart[];
    try {
      target = parsePlacement(to, opts.variant);
    } catch (e) {
      return Promise.reject(new MigrationRefused(`${owner}: migration to ${to} refused: ${(e as Error).message}`));
    }
    if (target.length > 1 && this.site.split === undefined) {
      return Promise.reject(new MigrationRefused(`${owner}: migration to ${to} refused: it cannot run a split placement`));
    }
    const label = placementLabel(target);
    const from = this.location();
    if (this.isAlready(target)) {
      return Promise.reject(new MigrationRefused(`${owner}: migration to ${label} refused: it runs on ${label} already`));
    }
    const done = this.run(from, label, target, opts).finally(() => {
      this.running = null;
    });
    this.running = { from, to: label, done };
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

  /** The parts serving now: a split's, or the single runner (null: inline cpu) as one part. */
  private parts(): readonly PlacedPart[] {
    const split = this.site.split?.parts() ?? null;
    if (split !== null) return split;
    const runner = this.site.current();
    return [{ ...(runner === null ? { backend: 'cpu' } : servingAs({ backend: 'cpu', runner })), weight: 1, runner }];
  }

  /** Whether `target` is what serves now: the same parts, each healthy where it is, at the same shares. */
  private isAlready(target: readonly PlacementPart[]): boolean {
    const now = this.parts();
    if (now.length !== target.length) return false;
    return target.every((p, i) => {
      const q = now[i];
      // A runner that fell back serves on cpu, but only the inline form is "cpu" to move to.
      const here = isInlineCpu(p) ? q.runner === null : q.runner !== null && q.runner.status().fallbackReason === null && q.runner.status().backend === partLabel(p);
      return here && shareText(p.weight) === shareText(q.weight);
    });
  }

  private async run(from: string, to: string, target: readonly PlacementPart[], opts: MigrateOptions): Promise<MigrationRecord> {
    const site = this.site;
    const t0 = performance.now();
    const rec: MigrationRecord = { id: this.records.length + 1, from, to, status: 'done', reason: null, bytesCopied: 0, deltas: 0, precopyMs: 0, pauseMs: 0, totalMs: 0, batchesDrained: 0, generation: site.structures[0]?.generation() ?? 0, delay: null, verification: opts.verify ?? 'checksum' };
    const steady = site.latencies?.last(STEADY_BATCHES) ?? [];
    const mark = site.latencies?.mark() ?? 0;
    const delay = (): void => {
      const lat = site.latencies;
      if (lat === undefined) return;
      const during = lat.since(mark);
      rec.delay = { steadyP50: percentile(steady, 50), steadyP99: percentile(steady, 99), duringP50: percentile(during, 50), duringP99: percentile(during, 99), batches: during.length };
    };
    const source = this.parts();
    // A target part that a runner serving now already is keeps that runner: its image is current
    // (the element's delta path feeds it), so nothing is copied for it.
    const spare = source.filter((p) => p.runner !== null && p.runner.status().fallbackReason === null);
    const plan: PlannedPart[] = target.map((part) => {
      if (isInlineCpu(part)) return { part, runner: null, kept: false };
      const i = spare.findIndex((q) => q.runner!.status().backend === partLabel(part));
      if (i < 0) return { part, runner: null, kept: false };
      const [q] = spare.splice(i, 1);
      return { part, runner: q.runner, kept: true };
    });
    const kept = new Set(plan.flatMap((p) => (p.kept ? [p.runner!] : [])));
    const released = source.flatMap((p) => (p.runner !== null && !kept.has(p.runner) ? [p.runner] : []));
    rec.note = splitNote(source, target, plan, released.length);
    const copies: TargetCopy[] = [];
    const mode = opts.verify ?? 'checksum';
    // Set by the timer; checked right before the switch, which is synchronous with the check.
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const precopyAndSwitch = async (): Promise<void> => {
      let told = false;
      const tellPrecopy = (): void => {
        if (!told) opts.onPhase?.('precopy', rec);
        told = true;
      };
      for (const p of plan) {
        if (p.kept || isInlineCpu(p.part)) continue;
        const variant = p.part.variant;
        const t = await OffloadRunner.open({ kernel: site.kernel, backend: p.part.backend, owner: site.owner, env: site.env, maxInFlight: site.maxInFlight, fallback: false, ...(variant === undefined ? {} : { variant }), ...(site.stats === undefined ? {} : { stats: site.stats }) });
        if (cancelled) {
          // Opened after the rollback (the timeout fired meanwhile): nobody else will close it.
          void t.close().catch(() => undefined);
          throw new Error('cancelled');
        }
        p.runner = t;
        const copy = new TargetCopy(t, site, mode, rec);
        copies.push(copy);
        await copy.precopy(tellPrecopy);
      }
      tellPrecopy();
      opts.onPhase?.('verify', rec);
      for (const c of copies) await c.readBack();
      for (const c of copies) await c.ready();
      const failure = (): unknown => copies.find((c) => c.failure !== null)?.failure ?? null;
      attempts: for (let attempt = 1; ; attempt++) {
        if (failure() !== null) throw failure();
        // Words mode (tests): a fresh read of the whole image each attempt, compared word for word.
        const reads: ReadBack[][] = [];
        for (const c of copies) reads.push(await c.reads());
        // Let the targets apply the deltas forwarded so far (words mode needs all of them; checksum mode
        // switches with any still queued: the runner applies them before the first batch it runs).
        for (const c of copies) await c.runner.deltasApplied();
        if (failure() !== null) throw failure();
        if (cancelled) throw new Error('cancelled');
        // Stop phase: from here to the switch nothing else runs (no batch starts, no delta lands).
        const p0 = performance.now();
        for (const c of copies) c.sendAllQueued();
        for (let k = 0; k < copies.length; k++) {
          const lagging = copies[k].lagging(reads[k]);
          if (lagging < 0) continue;
          // A delta was published after the wait: wait for it too (bounded).
          if (attempt >= VERIFY_ATTEMPTS) throw copies[k].laggingError(lagging, VERIFY_ATTEMPTS);
          continue attempts;
        }
        copies.forEach((c, k) => c.verify(reads[k]));
        const placed: PlacedPart[] = plan.map((p) => ({ ...p.part, runner: p.runner }));
        if (placed.length === 1) site.install(placed[0].runner);
        else site.split!.install(placed);
        for (const c of copies) {
          c.runner.enableFallback();
          c.detach();
        }
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
      for (const c of copies) {
        c.cancel();
        // Not awaited: a target that hangs must not hold up the source, which never stopped serving.
        void c.runner.close().catch(() => undefined);
      }
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
    // Release: batches a runner no longer used started before the switch finish there first.
    for (const r of released) {
      rec.batchesDrained += r.inFlight;
      await r.close();
    }
    rec.totalMs = performance.now() - t0;
    delay();
    this.records.push(rec);
    site.env.log.info(`${site.owner}: ${formatMigration(rec)}`);
    opts.onPhase?.('released', rec);
    return rec;
  }
}


/** Where a part serves now: its own label, or cpu for a runner that fell back. */
function servingAs(p: { backend: string; variant?: string; runner: OffloadRunner | null }): { backend: string; variant?: string } {
  if (p.runner === null) return { backend: p.backend, ...(p.variant === undefined ? {} : { variant: p.variant }) };
  const label = p.runner.status().backend;
  const slash = label.indexOf('/');
  return slash < 0 ? { backend: label } : { backend: label.slice(0, slash), variant: label.slice(slash + 1) };
}

/**
 * The migration log's word on a move that involves a split: a change of shares between the same
 * parts moves no state (only the credit counter changes, at a batch boundary); otherwise which
 * parts kept their runner (and image), so nothing was copied for them.
 */
function splitNote(source: readonly PlacedPart[], target: readonly PlacementPart[], plan: readonly PlannedPart[], released: number): string | undefined {
  if (source.length === 1 && target.length === 1) return undefined;
  const labels = (ps: readonly { backend: string; variant?: string }[]): string => ps.map(partLabel).join(',');
  const copied = plan.filter((p) => !p.kept && !isInlineCpu(p.part)).length;
  if (source.length > 1 && target.length > 1 && copied === 0 && released === 0 && labels(source) === labels(target)) {
    return `no state moved: same backends (${labels(target)}), new shares for the credit counter from the next batch`;
  }
  const keptParts = plan.filter((p) => p.kept).map((p) => partLabel(p.part));
  return keptParts.length === 0 ? undefined : `kept ${keptParts.join(', ')} (its runner and image stay: nothing copied)`;
}
