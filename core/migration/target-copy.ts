/**
 * One new runner a migration loads and verifies (migrator.ts, steps 1 and 2): a single target, or
 * each part of a split target that no runner serving now can stand for. Per structure it keeps
 * the source side's shadow (the image as copied plus every delta published since), the target
 * side's (its read-back plus every delta forwarded after the read), and the deltas queued for
 * the target while it applies an earlier one. The migrator drives the steps and the switch.
 */
import type { OffloadRunner } from '../offload/offload-runner.js';
import type { ImageDelta } from '../structures/image.js';
import { deltaWords } from '../structures/image.js';
import { ImageShadow } from './image-checksum.js';
import type { MigrationRecord } from './migration-record.js';
import type { MigrationSite } from './migration-site.js';

/** A structure read back from the target, at the generation the read was ordered at. */
export interface ReadBack {
  words: Uint32Array;
  generation: number;
}

export class TargetCopy {
  /** Per structure: the element's image as copied plus every delta published since (the source side). */
  private readonly sources: ImageShadow[] = [];
  /** Per structure: the target's read-back plus every delta forwarded after the read (the target side); null until read. */
  private readonly targets: (ImageShadow | null)[] = [];
  /** Per structure: deltas forwarded to the target before its read-back came (the read's generation says which it holds). */
  private readonly backlog: ImageDelta[][] = [];
  /** Per structure: deltas published and not yet handed to the target, while it applies an earlier one. */
  private readonly queued: ImageDelta[][] = [];
  private readonly applying: boolean[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  /** The first error forwarding a delta or keeping a shadow (fails the migration, never the element). */
  failure: unknown = null;
  private cancelled = false;

  constructor(
    readonly runner: OffloadRunner,
    private readonly site: MigrationSite,
    private readonly mode: 'checksum' | 'words',
    private readonly rec: MigrationRecord,
  ) {}

  /**
   * Step 1: for each structure, copy the element's image and subscribe to its deltas in one
   * synchronous step, load the copy (deltas published meanwhile are held, then forwarded), and
   * warm the kernel up. `loading` is told once the first load is under way.
   */
  async precopy(loading: () => void): Promise<void> {
    const site = this.site;
    const t = this.runner;
    for (let i = 0; i < site.structures.length; i++) {
      const st = site.structures[i];
      // Copy and subscribe in one synchronous step: every later delta is caught, no earlier one.
      st.flush?.();
      const image = st.image().slice();
      const generation = st.generation();
      const source = new ImageShadow(image.slice(), generation);
      this.sources.push(source);
      this.targets.push(null);
      this.backlog.push([]);
      this.queued.push([]);
      this.applying.push(false);
      const held: ImageDelta[] = [];
      let loaded = false;
      this.unsubscribe.push(
        st.onDelta((d) => {
          this.shadowApply(source, d);
          if (loaded) this.forward(i, d);
          else held.push(d);
        }),
      );
      this.rec.bytesCopied += image.byteLength;
      const load = t.addStructure(st.kind, image, generation);
      if (i === 0) loading();
      const index = await load;
      if (index !== i) throw new Error(`target put structure #${i} at #${index}`);
      loaded = true;
      for (const d of held) this.forward(i, d);
    }
    const io = site.warmUpIo?.();
    if (io !== undefined) await t.warmUp(io);
  }

  /** Step 2 (checksum mode): one read-back per structure; the deltas after it keep the target's side current. */
  async readBack(): Promise<void> {
    if (this.mode !== 'checksum') return;
    for (let i = 0; i < this.site.structures.length; i++) {
      const read = await this.runner.readStructureAtGeneration(i);
      const shadow = new ImageShadow(read.words.slice(), read.generation);
      for (const d of this.backlog[i].splice(0)) if (d.fromGeneration >= read.generation) this.shadowApply(shadow, d);
      this.targets[i] = shadow;
    }
  }

  /** Settles once every shadow's checksum is computed. */
  async ready(): Promise<void> {
    await Promise.all([...this.sources, ...this.targets].map((x) => x?.ready));
  }

  /** Words mode (tests): a fresh read of the whole image, per structure; none in checksum mode. */
  async reads(): Promise<ReadBack[]> {
    if (this.mode === 'checksum') return [];
    return Promise.all(this.site.structures.map((_s, i) => this.runner.readStructureAtGeneration(i)));
  }

  /** Stop phase: the deltas still queued go to the target now, in order (its host copy is then at the element's generation). */
  sendAllQueued(): void {
    this.site.structures.forEach((_s, i) => this.sendQueued(i));
  }

  /** Stop phase: the first structure the target's host copy (words mode: also device and read) is behind the element on, else -1. */
  lagging(reads: readonly ReadBack[]): number {
    return this.site.structures.findIndex((s, i) => {
      const g = s.generation();
      const gens = this.runner.generations(i);
      if (this.mode === 'checksum') return gens.host !== g;
      return gens.device !== g || gens.host !== g || reads[i].generation !== g;
    });
  }

  laggingError(index: number, attempts: number): Error {
    const gens = this.runner.generations(index);
    return new Error(`verification: structure #${index} is at generation ${gens.device} on the target (host copy ${gens.host}), the element at ${this.site.structures[index].generation()} after ${attempts} waits`);
  }

  /** Stop phase: the target holds what the element holds, structure by structure (throws the first difference). */
  verify(reads: readonly ReadBack[]): void {
    this.site.structures.forEach((s, i) => {
      const source = this.sources[i];
      if (this.mode === 'checksum') verifyChecksum(i, source, this.targets[i]!);
      else verifyWords(i, source.image, reads[i].words, s.flush === undefined ? s.image() : null);
    });
  }

  /** At the switch: the element's own delta path feeds the target from now on. */
  detach(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** At a rollback: detach, and hand nothing more to the target. */
  cancel(): void {
    this.cancelled = true;
    this.detach();
  }

  /**
   * Hand the queued deltas of structure `index` to the target as one (a target that applies
   * deltas slower than the element publishes them, a flow table's one per batch, catches up
   * instead of falling further behind); the next ones go once it has applied this.
   */
  private sendQueued(index: number): void {
    const all = this.queued[index];
    if (all.length === 0) return;
    // The longest run that keeps one length (see mergeDeltas); the rest follow once it is applied.
    let n = 1;
    while (n < all.length && all[n].length === all[0].length) n++;
    const q = all.splice(0, n);
    this.applying[index] = true;
    this.runner.applyDelta(index, mergeDeltas(q)).then(
      () => {
        this.applying[index] = false;
        if (!this.cancelled) this.sendQueued(index);
      },
      (e: unknown) => {
        this.failure ??= e;
      },
    );
  }

  private forward(index: number, d: ImageDelta): void {
    this.rec.deltas++;
    this.rec.bytesCopied += deltaWords(d) * 4;
    this.queued[index].push(d);
    if (!this.applying[index]) this.sendQueued(index);
    if (this.mode !== 'checksum') return;
    const shadow = this.targets[index];
    if (shadow === null || shadow === undefined) this.backlog[index].push(d);
    else this.shadowApply(shadow, d);
  }

  // Called from the element's delta path: a shadow that cannot follow fails the migration, never the element.
  private shadowApply(shadow: ImageShadow, d: ImageDelta): void {
    try {
      shadow.apply(d);
    } catch (e) {
      this.failure ??= e;
    }
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
