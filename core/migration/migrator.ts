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
 */
import { OffloadRunner } from '../offload/offload-runner.js';
import type { ImageDelta } from '../structures/image.js';
import { deltaWords } from '../structures/image.js';
import type { MigrationSite, MigrationTarget } from './migration-site.js';
import { formatMigration, type MigrationRecord } from './migration-record.js';
import { percentile } from './batch-latencies.js';
import { ImageShadow } from './image-checksum.js';

export type MigrationPhase = 'precopy' | 'verify' | 'switched' | 'released' | 'rolled back';

export interface MigrateOptions {
  /** Rollback if the target is not verified and switched by then (default 120 s: a cold FPGA build is slow). */
  timeoutMs?: number;
  /** Variant of the target backend (gpu.js's mode). */
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
    const rec: MigrationRecord = { id: this.records.length + 1, from, to, status: 'done', reason: null, bytesCopied: 0, deltas: 0, precopyMs: 0, pauseMs: 0, totalMs: 0, batchesDrained: 0, generation: site.structures[0]?.generation() ?? 0, delay: null, verification: opts.verify ?? 'checksum' };
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

    const mode = opts.verify ?? 'checksum';
    /** Per structure: the element's image as copied plus every delta published since (the source side). */
    const sources: ImageShadow[] = [];
    /** Per structure: the target's read-back plus every delta forwarded after the read (the target side); null until read. */
    const targets: (ImageShadow | null)[] = [];
    /** Per structure: deltas forwarded to the target before its read-back came (the read's generation says which it holds). */
    const backlog: ImageDelta[][] = [];

    /** Per structure: deltas published and not yet handed to the target, while it applies an earlier one. */
    const queued: ImageDelta[][] = [];
    const applying: boolean[] = [];
    /**
     * Hand the queued deltas of structure `index` to the target as one (a target that applies
     * deltas slower than the element publishes them, a flow table's one per batch, catches up
     * instead of falling further behind); the next ones go once it has applied this.
     */
    const sendQueued = (runner: OffloadRunner, index: number): void => {
      const all = queued[index];
      if (all.length === 0) return;
      // The longest run that keeps one length (see mergeDeltas); the rest follow once it is applied.
      let n = 1;
      while (n < all.length && all[n].length === all[0].length) n++;
      const q = all.splice(0, n);
      applying[index] = true;
      runner.applyDelta(index, mergeDeltas(q)).then(
        () => {
          applying[index] = false;
          if (!cancelled) sendQueued(runner, index);
        },
        (e: unknown) => {
          forwardFailure ??= e;
        },
      );
    };
    const forward = (runner: OffloadRunner, index: number, d: ImageDelta): void => {
      rec.deltas++;
      rec.bytesCopied += deltaWords(d) * 4;
      queued[index].push(d);
      if (!applying[index]) sendQueued(runner, index);
      if (mode !== 'checksum') return;
      const shadow = targets[index];
      if (shadow === null || shadow === undefined) backlog[index].push(d);
      else shadowApply(shadow, d);
    };
    // Called from the element's delta path: a shadow that cannot follow fails the migration, never the element.
    const shadowApply = (shadow: ImageShadow, d: ImageDelta): void => {
      try {
        shadow.apply(d);
      } catch (e) {
        forwardFailure ??= e;
      }
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
          st.flush?.();
          const image = st.image().slice();
          const generation = st.generation();
          const source = new ImageShadow(image.slice(), generation);
          sources.push(source);
          targets.push(null);
          backlog.push([]);
          queued.push([]);
          applying.push(false);
          const held: ImageDelta[] = [];
          let loaded = false;
          unsubscribe.push(
            st.onDelta((d) => {
              shadowApply(source, d);
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
      const t = target as OffloadRunner | null;
      if (t !== null && mode === 'checksum') {
        // One read-back per structure, at the generation the read was ordered at; the deltas
        // after it keep the target's side current, so no delta forces a second read.
        for (let i = 0; i < site.structures.length; i++) {
          const read = await t.readStructureAtGeneration(i);
          const shadow = new ImageShadow(read.words.slice(), read.generation);
          for (const d of backlog[i].splice(0)) if (d.fromGeneration >= read.generation) shadowApply(shadow, d);
          targets[i] = shadow;
        }
      }
      await Promise.all([...sources, ...targets].map((x) => x?.ready));
      for (let attempt = 1; ; attempt++) {
        if (forwardFailure !== null) throw forwardFailure;
        // Words mode (tests): a fresh read of the whole image each attempt, compared word for word.
        const reads = t === null || mode === 'checksum' ? [] : await Promise.all(site.structures.map((_s, i) => t.readStructureAtGeneration(i)));
        // Let the target apply the deltas forwarded so far (words mode needs all of them; checksum mode
        // switches with any still queued: the runner applies them before the first batch it runs).
        if (t !== null) await t.deltasApplied();
        if (forwardFailure !== null) throw forwardFailure;
        if (cancelled) throw new Error('cancelled');
        // Stop phase: from here to the switch nothing else runs (no batch starts, no delta lands).
        const p0 = performance.now();
        // Deltas still queued go to the target now, in order: its host copy is then at the element's generation.
        if (t !== null) site.structures.forEach((_s, i) => sendQueued(t, i));
        if (t !== null) {
          const lagging = site.structures.findIndex((s, i) => {
            const g = s.generation();
            const gens = t.generations(i);
            if (mode === 'checksum') return gens.host !== g;
            return gens.device !== g || gens.host !== g || reads[i].generation !== g;
          });
          if (lagging >= 0) {
            // A delta was published after the wait: wait for it too (bounded).
            if (attempt >= VERIFY_ATTEMPTS) {
              const gens = t.generations(lagging);
              throw new Error(`verification: structure #${lagging} is at generation ${gens.device} on the target (host copy ${gens.host}), the element at ${site.structures[lagging].generation()} after ${VERIFY_ATTEMPTS} waits`);
            }
            continue;
          }
          site.structures.forEach((s, i) => {
            const source = sources[i];
            if (mode === 'checksum') verifyChecksum(i, source, targets[i]!);
            else verifyWords(i, source.image, reads[i].words, s.flush === undefined ? s.image() : null);
          });
        }
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

/**
 * Consecutive deltas as one: the writes in order (a later write over an earlier one wins, as
 * applying them one by one would), from the first's generation to the last's. Only deltas that
 * leave the image at one length merge (a shrink between them zeroes what it drops, which a
 * merged write list would not); the caller keeps the others apart.
 */
function mergeDeltas(ds: readonly ImageDelta[]): ImageDelta {
  const first = ds[0];
  if (ds.length === 1) return first;
  const last = ds[ds.length - 1];
  if (ds.some((d) => d.length !== first.length)) throw new Error('mergeDeltas: deltas of different lengths');
  return { kind: first.kind, fromGeneration: first.fromGeneration, toGeneration: last.toGeneration, length: last.length, writes: ds.flatMap((d) => d.writes) };
}

/**
 * Checksum mode, O(1) per structure: the source side (the element's image as copied plus every
 * delta published since) and the target side (its read-back plus every delta after the read)
 * must hold the same sum at the same generation. On a mismatch the two sides are compared word
 * for word to name the word (the rollback's reason; only then is it O(image)).
 */
function verifyChecksum(index: number, source: ImageShadow, target: ImageShadow): void {
  if (target.generation !== source.generation) throw new Error(`verification: structure #${index} is at generation ${target.generation} on the target side, ${source.generation} on the element's`);
  if (target.length === source.length && target.checksum === source.checksum) return;
  if (target.length !== source.length) throw new Error(`verification: structure #${index} has ${target.length} words on the target, ${source.length} on the host`);
  const a = target.image;
  const b = source.image;
  for (let w = 0; w < b.length; w++) {
    if (a[w] !== b[w]) throw new Error(`verification: structure #${index} differs at word ${w} (target 0x${a[w].toString(16)}, host 0x${b[w].toString(16)}; checksums 0x${target.checksum.toString(16)}, 0x${source.checksum.toString(16)})`);
  }
  throw new Error(`verification: structure #${index} checksums differ (target 0x${target.checksum.toString(16)}, host 0x${source.checksum.toString(16)}) on equal words`);
}

/**
 * Words mode (tests): a read of the whole target image at the element's generation equals the
 * element's image as published (copied plus deltas) word for word, and that equals the element's
 * own image where the element publishes every write at once (no `flush`).
 */
function verifyWords(index: number, published: Uint32Array, read: Uint32Array, own: Uint32Array | null): void {
  compareWords(index, 'target', read, published);
  if (own !== null) compareWords(index, 'copy published', published, own);
}

function compareWords(index: number, what: string, a: Uint32Array, host: Uint32Array): void {
  if (a.length !== host.length) throw new Error(`verification: structure #${index} has ${a.length} words on the ${what === 'target' ? 'target' : `${what} side`}, ${host.length} on the host`);
  for (let w = 0; w < host.length; w++) {
    if (a[w] !== host[w]) throw new Error(`verification: structure #${index} differs at word ${w} (${what} 0x${a[w].toString(16)}, host 0x${host[w].toString(16)})`);
  }
}
