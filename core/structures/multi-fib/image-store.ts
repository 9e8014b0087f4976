/**
 * The words of a multi-FIB image and their bookkeeping: allocation (best fit over free blocks
 * by capacity), hash-consing (identical nodes and records are stored once, refcounted), and
 * the write log a delta is made of.
 *
 * Allocation: the bulk build (`exact`) places blocks at their exact size, back to back. What
 * commits allocate takes the smallest free block that holds it; a block 4 or more words bigger
 * than the size's class is split (the rest stays free); at the end of the image a commit's block is rounded
 * up to its size class, so that a node rebuilt a little larger still finds room. Free blocks
 * are filed by their exact capacity, so the exact blocks of the bulk build are found again by
 * any size they hold (filing them under a class below their size lost them to the rounded
 * sizes commits ask for: measured, +1.2 MiB on the full table under churn). Blocks over
 * SPLIT_MAX words (L0 copies) are only reused whole, never split: the next L0 copy needs one.
 *
 * Reuse rule: a block freed while commit N is built becomes allocatable only when commit
 * N+1 starts. Readers that started on version N-1 may still be walking it during commit N;
 * a backend must finish a lookup batch before it applies the delta after next (in practice:
 * deltas are applied between batches, so this always holds).
 */
import { NODE_HEADER_WORDS, TAG_NARROW_NODE, TAG_NODE, TAG_RECORD, VALUE_MASK } from './image-format.js';
import type { ImageWrite } from '../image.js';

const KIND_NODE = 0;
const KIND_RECORD = 1;
/** A node with 16-bit leaf run entries: it references no other block. */
const KIND_NARROW_NODE = 2;
const KIND_PLAIN = 3;

interface Block {
  size: number;
  /** Words the block occupies (>= size): what returns to the free lists. */
  cap: number;
  refs: number;
  hash: number;
  kind: number;
}

/** Size classes keep the number of distinct free lists small so freed blocks are found again. */
export function sizeClass(n: number): number {
  if (n <= 64) return (n + 3) & ~3;
  if (n <= 512) return (n + 31) & ~31;
  if (n <= 4096) return (n + 255) & ~255;
  return n;
}

/** Free blocks up to this many words may be split; larger ones (L0 copies) are taken whole. */
const SPLIT_MAX = 4096;

function hashWords(w: Uint32Array, n: number): number {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ w[i], 0x01000193);
    h ^= h >>> 15;
  }
  return h;
}

export class ImageStore {
  words: Uint32Array;
  used: number;
  private readonly blocks = new Map<number, Block>();
  /** Per kind (node, record, narrow node): hash -> offsets. Narrow and wide nodes never match each other. */
  private readonly interned = [new Map<number, number[]>(), new Map<number, number[]>(), new Map<number, number[]>()];
  /** Free blocks by capacity: capacity -> offsets. */
  private readonly free = new Map<number, number[]>();
  /** The capacities up to SPLIT_MAX that have free blocks, ascending (best fit searches it). */
  private readonly freeCaps: number[] = [];
  private pending: number[] = [];
  /** Writes since the last `takeWrites()`, when logging (the initial build does not log). */
  private log: ImageWrite[] | null = null;
  /** Allocate at exact sizes (the bulk build; see the header comment). */
  exact = false;

  constructor(initialWords: number, used: number) {
    this.words = new Uint32Array(Math.max(initialWords, used));
    this.used = used;
  }

  startLog(): void {
    this.log = [];
  }

  logLength(): number {
    return this.log?.length ?? 0;
  }

  takeWrites(): ImageWrite[] {
    const w = this.log ?? [];
    this.log = null;
    return w;
  }

  /** Blocks freed during the previous commit become reusable (see the reuse rule above). */
  releasePending(): void {
    for (let i = 0; i < this.pending.length; i += 2) this.fileFree(this.pending[i], this.pending[i + 1]);
    this.pending = [];
  }

  /** Write `src[0..n)` at `offset` (and log it). */
  write(offset: number, src: Uint32Array, n = src.length): void {
    this.words.set(n === src.length ? src : src.subarray(0, n), offset);
    if (this.log !== null) this.log.push({ offset, words: this.words.slice(offset, offset + n) });
  }

  writeWord(offset: number, value: number): void {
    this.words[offset] = value;
    if (this.log !== null) this.log.push({ offset, words: Uint32Array.of(value) });
  }

  alloc(size: number, kind = KIND_PLAIN, hash = 0): number {
    let cap = this.exact ? size : sizeClass(size);
    let off = -1;
    if (!this.exact) {
      const fit = this.takeFree(size);
      if (fit >= 0) {
        off = fit;
        cap = this.takenCap;
      }
    }
    if (off < 0) {
      off = this.used;
      this.used += cap;
      if (this.used > this.words.length) {
        const grown = new Uint32Array(Math.max(this.used, Math.ceil(this.words.length * 1.5)));
        grown.set(this.words);
        this.words = grown;
      }
    }
    this.blocks.set(off, { size, cap, refs: 1, hash, kind });
    return off;
  }

  /** Capacity of the block the last successful `takeFree` returned. */
  private takenCap = 0;

  /**
   * The offset of a free block for `size` words, or -1: the smallest that holds it; when it
   * has 4 or more words beyond sizeClass(size) it is split, its first sizeClass(size) words
   * taken and the rest filed free (it was free already, so the reuse rule holds).
   */
  private takeFree(size: number): number {
    if (size > SPLIT_MAX) {
      const list = this.free.get(size);
      if (list === undefined || list.length === 0) return -1;
      this.takenCap = size;
      return list.pop()!;
    }
    const caps = this.freeCaps;
    let lo = 0;
    let hi = caps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (caps[mid] < size) lo = mid + 1;
      else hi = mid;
    }
    if (lo === caps.length) return -1;
    const cap = caps[lo];
    const list = this.free.get(cap)!;
    const off = list.pop()!;
    if (list.length === 0) caps.splice(lo, 1);
    const want = sizeClass(size);
    if (cap - want >= 4) {
      this.fileFree(off + want, cap - want);
      this.takenCap = want;
    } else this.takenCap = cap;
    return off;
  }

  private fileFree(off: number, cap: number): void {
    let list = this.free.get(cap);
    if (list === undefined) this.free.set(cap, (list = []));
    if (list.length === 0 && cap <= SPLIT_MAX) {
      const caps = this.freeCaps;
      let lo = 0;
      let hi = caps.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (caps[mid] < cap) lo = mid + 1;
        else hi = mid;
      }
      caps.splice(lo, 0, cap);
    }
    list.push(off);
  }

  /** Free a plain block (an old L0 copy); reusable from the next commit on. */
  freePlain(off: number): void {
    const b = this.blocks.get(off)!;
    this.blocks.delete(off);
    this.pending.push(off, b.cap);
  }

  /** The entry for a node with these words, existing or new; the caller owns one reference to it. */
  internNode(w: Uint32Array, n: number): number {
    return (TAG_NODE << 30 | this.intern(KIND_NODE, w, n)) >>> 0;
  }

  /** The same for a narrow node (16-bit leaf run entries); it holds no references. */
  internNarrowNode(w: Uint32Array, n: number): number {
    return (TAG_NARROW_NODE << 30 | this.intern(KIND_NARROW_NODE, w, n)) >>> 0;
  }

  internRecord(w: Uint32Array, n: number): number {
    return (TAG_RECORD << 30 | this.intern(KIND_RECORD, w, n)) >>> 0;
  }

  private intern(kind: number, w: Uint32Array, n: number): number {
    const h = hashWords(w, n);
    const table = this.interned[kind];
    const bucket = table.get(h);
    if (bucket !== undefined) {
      const img = this.words;
      outer: for (const off of bucket) {
        const b = this.blocks.get(off)!;
        if (b.size !== n) continue;
        for (let i = 0; i < n; i++) if (img[off + i] !== w[i]) continue outer;
        b.refs++;
        // The found node already holds its children: drop the references the caller built.
        if (kind === KIND_NODE) this.releaseRuns(w, n);
        return off;
      }
    }
    const off = this.alloc(n, kind, h);
    this.write(off, w, n);
    if (bucket === undefined) table.set(h, [off]);
    else bucket.push(off);
    return off;
  }

  /** Take one more reference to an entry's node or record (leaves are free). */
  retain(e: number): void {
    if (e >>> 30 === 0) return;
    this.blocks.get(e & VALUE_MASK)!.refs++;
  }

  /** Drop one reference; a node or record reaching zero is freed along with what it alone held. */
  release(e: number): void {
    const tag = e >>> 30;
    if (tag === 0) return;
    const off = e & VALUE_MASK;
    const b = this.blocks.get(off)!;
    if (--b.refs > 0) return;
    const table = this.interned[b.kind];
    const bucket = table.get(b.hash)!;
    if (bucket.length === 1) table.delete(b.hash);
    else bucket.splice(bucket.indexOf(off), 1);
    this.blocks.delete(off);
    this.pending.push(off, b.cap);
    if (b.kind === KIND_NODE) this.releaseRuns(this.words.subarray(off, off + b.size), b.size);
  }

  private releaseRuns(w: Uint32Array, n: number): void {
    for (let i = NODE_HEADER_WORDS; i < n; i++) if (w[i] >>> 30 !== 0) this.release(w[i]);
  }

  /** Nodes by width (tests, the design note's figures). */
  nodeWidths(): { wide: number; narrow: number } {
    let wide = 0, narrow = 0;
    for (const b of this.blocks.values()) {
      if (b.kind === KIND_NODE) wide++;
      else if (b.kind === KIND_NARROW_NODE) narrow++;
    }
    return { wide, narrow };
  }

  stats(): { nodes: number; records: number; nodeWords: number; recordWords: number; nodeRefs: number; recordRefs: number; freeWords: number } {
    let nodes = 0, records = 0, nodeWords = 0, recordWords = 0, nodeRefs = 0, recordRefs = 0;
    for (const b of this.blocks.values()) {
      if (b.kind === KIND_NODE || b.kind === KIND_NARROW_NODE) { nodes++; nodeWords += b.size; nodeRefs += b.refs; }
      else if (b.kind === KIND_RECORD) { records++; recordWords += b.size; recordRefs += b.refs; }
    }
    let freeWords = 0;
    for (const [cap, list] of this.free) freeWords += cap * list.length;
    for (let i = 1; i < this.pending.length; i += 2) freeWords += this.pending[i];
    return { nodes, records, nodeWords, recordWords, nodeRefs, recordRefs, freeWords };
  }
}
