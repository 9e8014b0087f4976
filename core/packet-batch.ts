/**
 * PacketBatch: the columnar unit of work that flows between elements.
 *
 * Packets of a batch live in one byte arena (`data`); each packet is a window
 * `[offset[i], offset[i] + length[i])` into it. Every per-packet value is a typed-array
 * column, so a kernel (CPU loop, WebGPU storage buffer, FPGA stream) reads and writes
 * columns only. Header edits (Strip, DecIPTTL) change the arena or the window in place.
 *
 * Annotations are Int32Array columns, also for IPv4 addresses (`dst`): values above 2^31
 * in a Uint32Array leave V8's fast integer path, so addresses are stored as their int32 bit
 * pattern and read with `>>> 0` where the unsigned value matters.
 */

import { mergePositions } from './packet-order.js';

/** Annotation columns every batch can carry; more can be added by name. */
export const ANNOTATIONS = ['dst', 'vrf', 'nextHop', 'port', 'paint', 'flow'] as const;
export type AnnotationName = (typeof ANNOTATIONS)[number] | (string & {});

/** Bytes kept free in front of each packet by sources that copy packets, so encapsulation needs no copy (Click uses 28). */
export const DEFAULT_HEADROOM = 32;

/**
 * Headroom every source guarantees at least: a zero-copy pcap batch's packets have their
 * 16-byte record header in front, enough for an Ethernet header (14).
 */
export const MIN_HEADROOM = 16;

/** Sentinel in the `nextHop` column: no route matched. */
export const NO_NEXT_HOP = -1;

export interface PacketBatchInit {
  seq: number;
  capacity: number;
  data: Uint8Array;
  linkType?: number;
}

/** Bytes per packet of a batch's fixed columns: id and tsSec (float64), offset, length, base, wireLength, tsNsec (int32). */
const COLUMN_BYTES = 2 * 8 + 5 * 4;

/**
 * Most batch objects one batch keeps for reuse as its split outputs and merges (see `derive`):
 * enough for a split over several outputs and a merge, per generation.
 */
const MAX_DERIVED = 16;

/** Scratch of `split`: packet indices grouped by output port, and where each port's group starts. */
let splitSel = new Int32Array(1024);
let splitAt = new Int32Array(16);
let splitFill = new Int32Array(16);

export class PacketBatch {
  /** Sequence number of the batch: every element sees and emits batches in this order. */
  seq: number;
  /** The byte arena shared by this batch's packets (and by batches split from it). */
  data: Uint8Array;
  /** Link-layer type of the packet bytes as they are now (pcap LINKTYPE_*): 1 Ethernet, 101 raw IP. */
  linkType: number;
  count = 0;
  readonly capacity: number;
  /** Global packet index assigned by the source: the packet index named in errors, and the merge order. */
  readonly id: Float64Array;
  readonly offset: Int32Array;
  readonly length: Int32Array;
  /** Lowest offset the packet may grow back to (its headroom start); Unstrip and encapsulation check it. */
  readonly base: Int32Array;
  /** Original length on the wire (pcap orig_len). */
  readonly wireLength: Int32Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Int32Array;
  /**
   * Annotation columns, `annoCols[k]` named `annoNames[k]`: the batch's own for k < annoCount;
   * beyond, columns of an earlier use of this object (see `recycle`), handed out again, zeroed,
   * by `anno`. Two short arrays, not a Map: a batch carries a handful, split/merge/copy walk
   * them for every batch (a Map iterator per packet was a measurable share of the router's
   * time), and a recycled batch reuses them without allocating.
   */
  private readonly annoNames: string[] = [];
  private readonly annoCols: Int32Array[] = [];
  private annoCount = 0;
  /**
   * Uses of this object so far (`recycle`): a batch derived from it (split output, merge) in an
   * earlier use is no longer referred to by anyone, so `derive` may hand it out again.
   */
  private generation = 0;
  private derived: PacketBatch[] | null = null;
  private derivedIn: number[] | null = null;

  constructor(init: PacketBatchInit) {
    this.seq = init.seq;
    this.capacity = init.capacity;
    this.data = init.data;
    this.linkType = init.linkType ?? 1;
    const n = init.capacity;
    // One allocation for the seven columns: a backing store per column made batch construction a
    // tenth of the 4-output router's time.
    const cols = new ArrayBuffer(n * COLUMN_BYTES);
    this.id = new Float64Array(cols, 0, n);
    this.tsSec = new Float64Array(cols, 8 * n, n);
    this.offset = new Int32Array(cols, 16 * n, n);
    this.length = new Int32Array(cols, 20 * n, n);
    this.base = new Int32Array(cols, 24 * n, n);
    this.wireLength = new Int32Array(cols, 28 * n, n);
    this.tsNsec = new Int32Array(cols, 32 * n, n);
  }

  /** The annotation column `name`, created zero-filled (or filled with `fill`) on first use. */
  anno(name: AnnotationName, fill = 0): Int32Array {
    return this.column(name, fill);
  }

  /**
   * The annotation column `name` for a caller that writes every packet's entry before anything
   * reads it (a kernel's output column): a column reused from an earlier use of this object
   * keeps its old values instead of being zeroed first.
   */
  annoToOverwrite(name: AnnotationName): Int32Array {
    return this.column(name, null);
  }

  /**
   * `anno`, where `fill` null leaves a reused column's old values in place: for a caller that
   * writes every packet's entry itself (a split output), the fill would only be overwritten.
   */
  private column(name: string, fill: number | null): Int32Array {
    const names = this.annoNames;
    const cols = this.annoCols;
    const live = this.annoCount;
    for (let k = 0; k < live; k++) if (names[k] === name) return cols[k];
    let spare = live;
    while (spare < names.length && names[spare] !== name) spare++;
    let col: Int32Array;
    if (spare < names.length) {
      col = cols[spare];
      if (fill !== null) col.fill(fill);
    } else {
      col = new Int32Array(this.capacity);
      if (fill !== null && fill !== 0) col.fill(fill);
      names.push(name);
      cols.push(col);
    }
    // Into the first place past the live ones (what was there moves to the freed place).
    names[spare] = names[live];
    cols[spare] = cols[live];
    names[live] = name;
    cols[live] = col;
    this.annoCount = live + 1;
    return col;
  }

  /**
   * Make this batch object a fresh, empty batch again (a source reusing batches once the
   * scheduler has released their sequence number: nothing refers to them, nor to the batches
   * split or merged from them, any more). Its annotation columns are kept to be handed out,
   * zeroed, by `anno`: no annotation survives.
   */
  recycle(seq: number, data: Uint8Array, linkType: number): void {
    this.seq = seq;
    this.data = data;
    this.linkType = linkType;
    this.count = 0;
    this.generation++;
    this.annoCount = 0;
  }

  hasAnno(name: AnnotationName): boolean {
    for (let k = 0; k < this.annoCount; k++) if (this.annoNames[k] === name) return true;
    return false;
  }

  /** A copy of packet i's current bytes (tests and Print; hot paths read `data` directly). */
  bytes(i: number): Uint8Array {
    return this.data.subarray(this.offset[i], this.offset[i] + this.length[i]);
  }

  /** An empty batch with the same sequence number, arena and link type, able to hold `capacity` packets. */
  emptyLike(capacity: number = this.capacity): PacketBatch {
    return new PacketBatch({ seq: this.seq, capacity, data: this.data, linkType: this.linkType });
  }

  /** Append packet `i` of `src` (same arena) to this batch, with all its annotations. */
  copyPacketFrom(src: PacketBatch, i: number): void {
    if (src.data !== this.data) throw new Error('copyPacketFrom: batches must share one arena (use PacketBatch.concat)');
    const j = this.count++;
    this.id[j] = src.id[i];
    this.offset[j] = src.offset[i];
    this.length[j] = src.length[i];
    this.base[j] = src.base[i];
    this.wireLength[j] = src.wireLength[i];
    this.tsSec[j] = src.tsSec[i];
    this.tsNsec[j] = src.tsNsec[i];
    for (let k = 0; k < src.annoCount; k++) this.anno(src.annoNames[k])[j] = src.annoCols[k][i];
  }

  /**
   * An empty batch object for at least `need` packets taken from this batch (a split output, a
   * merge): one this object handed out in an earlier generation when there is one, since nothing
   * refers to those any more, else a new one (kept for later generations, up to MAX_DERIVED).
   * A source that recycles its batches thus makes split and merge allocate nothing in the
   * steady state; one that does not loses nothing.
   */
  private derive(seq: number, data: Uint8Array, linkType: number, need: number): PacketBatch {
    const kids = (this.derived ??= []);
    const kidsIn = (this.derivedIn ??= []);
    for (let k = 0; k < kids.length; k++) {
      if (kidsIn[k] !== this.generation && kids[k].capacity >= need) {
        kidsIn[k] = this.generation;
        kids[k].recycle(seq, data, linkType);
        return kids[k];
      }
    }
    const kid = new PacketBatch({ seq, capacity: Math.max(need, this.capacity), data, linkType });
    if (kids.length < MAX_DERIVED) {
      kids.push(kid);
      kidsIn.push(this.generation);
    }
    return kid;
  }

  /**
   * Split by output port: `ports[i]` is packet i's output (negative drops it).
   * Sub-batches share the arena, so header edits downstream still work in place; no packet byte
   * is copied, only the packets' column entries (a gather per column over each port's index list).
   * Each sub-batch keeps the packets' relative order; `merge` restores the global order.
   *
   * The split consumes this batch: the port with the most packets gets this very object, its
   * columns compacted in place (an element owns the batch it processes, see SourceElement), and
   * only the other ports' packets are gathered into derived batches. Writing the largest share
   * into columns that are already in cache, instead of a further batch object's, was most of the
   * split's cost on the 4-output router. A caller must not read this batch afterwards except as
   * the output it is returned as.
   *
   * `counts`, when the caller has them (it wrote `ports` in its own loop): counts[p] is how many
   * packets have port p, for p < nports; the split then skips its own counting pass. They must
   * be exact (a wrong count would misplace packets), which a debug check cannot afford per batch.
   */
  split(ports: Int32Array, nports: number, counts?: Int32Array): (PacketBatch | null)[] {
    const n = this.count;
    if (splitAt.length < nports + 1) {
      splitAt = new Int32Array(2 * (nports + 1));
      splitFill = new Int32Array(2 * (nports + 1));
    }
    const at = splitAt;
    at[0] = 0;
    if (counts !== undefined) {
      for (let p = 0; p < nports; p++) at[p + 1] = counts[p];
    } else {
      at.fill(0, 0, nports + 1);
      for (let i = 0; i < n; i++) {
        const p = ports[i];
        if (p >= 0 && p < nports) at[p + 1]++;
      }
    }
    const out: (PacketBatch | null)[] = new Array<PacketBatch | null>(nports).fill(null);
    // The port keeping this object: the one with the most packets (the lowest on a tie).
    let major = 0;
    for (let p = 1; p < nports; p++) if (at[p + 1] > at[major + 1]) major = p;
    // Fast path: every packet goes to one port, the batch itself is that port's output.
    if (at[major + 1] === n) {
      out[major] = this;
      return out;
    }
    for (let p = 0; p < nports; p++) at[p + 1] += at[p];
    // Index lists: port p's packets are sel[at[p] .. at[p+1]), in order.
    if (splitSel.length < n) splitSel = new Int32Array(Math.max(n, 2 * splitSel.length));
    const sel = splitSel;
    const fill = splitFill;
    for (let p = 0; p < nports; p++) fill[p] = at[p];
    for (let i = 0; i < n; i++) {
      const p = ports[i];
      if (p >= 0 && p < nports) sel[fill[p]++] = i;
    }
    for (let p = 0; p < nports; p++) {
      const from = at[p];
      const c = at[p + 1] - from;
      if (c === 0 || p === major) continue;
      const b = this.derive(this.seq, this.data, this.linkType, c);
      b.count = c;
      gatherF64(b.id, this.id, sel, from, c);
      gatherI32(b.offset, this.offset, sel, from, c);
      gatherI32(b.length, this.length, sel, from, c);
      gatherI32(b.base, this.base, sel, from, c);
      gatherI32(b.wireLength, this.wireLength, sel, from, c);
      gatherF64(b.tsSec, this.tsSec, sel, from, c);
      gatherI32(b.tsNsec, this.tsNsec, sel, from, c);
      for (let k = 0; k < this.annoCount; k++) gatherI32(b.column(this.annoNames[k], null), this.annoCols[k], sel, from, c);
      out[p] = b;
    }
    // Last, once every other port has read its packets: the largest port's packets compacted in
    // place (sel[from + j] >= j, ascending, so no entry is overwritten before it is read), from
    // its first packet that has to move.
    const from = at[major];
    const c = at[major + 1] - from;
    if (c > 0) {
      let j0 = 0;
      while (j0 < c && sel[from + j0] === j0) j0++;
      compactF64(this.id, sel, from, j0, c);
      compactI32(this.offset, sel, from, j0, c);
      compactI32(this.length, sel, from, j0, c);
      compactI32(this.base, sel, from, j0, c);
      compactI32(this.wireLength, sel, from, j0, c);
      compactF64(this.tsSec, sel, from, j0, c);
      compactI32(this.tsNsec, sel, from, j0, c);
      for (let k = 0; k < this.annoCount; k++) compactI32(this.annoCols[k], sel, from, j0, c);
      this.count = c;
      out[major] = this;
    }
    return out;
  }

  /** Keep only packets with keep[i] !== 0, in place; returns how many were removed. */
  filterInPlace(keep: Uint8Array | Int32Array): number {
    let j = 0;
    const cols = this.annoCols;
    const ncols = this.annoCount;
    for (let i = 0; i < this.count; i++) {
      if (keep[i] === 0) continue;
      if (i !== j) {
        this.id[j] = this.id[i];
        this.offset[j] = this.offset[i];
        this.length[j] = this.length[i];
        this.base[j] = this.base[i];
        this.wireLength[j] = this.wireLength[i];
        this.tsSec[j] = this.tsSec[i];
        this.tsNsec[j] = this.tsNsec[i];
        for (let k = 0; k < ncols; k++) cols[k][j] = cols[k][i];
      }
      j++;
    }
    const removed = this.count - j;
    this.count = j;
    return removed;
  }

  /**
   * Merge batches of one sequence number back into global packet order (by `id`; see
   * packet-order.ts). Inputs sharing one arena merge without copying bytes: each part's column
   * entries are scattered to their merged positions. Otherwise the bytes are copied into a fresh
   * arena (with headroom kept in front of every packet).
   */
  static merge(seq: number, parts: readonly PacketBatch[]): PacketBatch {
    const live: PacketBatch[] = [];
    for (const b of parts) if (b.count > 0) live.push(b);
    if (live.length === 1) return live[0];
    if (live.length === 0) return new PacketBatch({ seq, capacity: 0, data: parts[0]?.data ?? new Uint8Array(0), linkType: parts[0]?.linkType });
    let total = 0;
    let shared = true;
    for (const b of live) {
      total += b.count;
      if (b.data !== live[0].data) shared = false;
    }
    const pos = mergePositions(
      live.map((b) => b.id),
      live.map((b) => b.count),
      total,
    );
    if (!shared) {
      const out = PacketBatch.concatShell(seq, live, total);
      const partAt = new Int32Array(total);
      const indexAt = new Int32Array(total);
      let at = 0;
      for (let k = 0; k < live.length; k++) {
        for (let i = 0; i < live[k].count; i++) {
          partAt[pos[at + i]] = k;
          indexAt[pos[at + i]] = i;
        }
        at += live[k].count;
      }
      for (let j = 0; j < total; j++) out.copyBytesFrom(live[partAt[j]], indexAt[j]);
      return out;
    }
    const out = live[0].derive(seq, live[0].data, live[0].linkType, total);
    out.count = total;
    // Every part's annotations, before any scatter: a packet of a part without one reads 0 there.
    for (const b of live) for (let k = 0; k < b.annoCount; k++) out.anno(b.annoNames[k]);
    let at = 0;
    for (const b of live) {
      const c = b.count;
      scatterF64(out.id, b.id, pos, at, c);
      scatterI32(out.offset, b.offset, pos, at, c);
      scatterI32(out.length, b.length, pos, at, c);
      scatterI32(out.base, b.base, pos, at, c);
      scatterI32(out.wireLength, b.wireLength, pos, at, c);
      scatterF64(out.tsSec, b.tsSec, pos, at, c);
      scatterI32(out.tsNsec, b.tsNsec, pos, at, c);
      for (let k = 0; k < b.annoCount; k++) scatterI32(out.anno(b.annoNames[k]), b.annoCols[k], pos, at, c);
      at += c;
    }
    return out;
  }

  /** Concatenate batches (any arenas) into one new batch, in the given order, copying bytes. */
  static concat(seq: number, parts: readonly PacketBatch[]): PacketBatch {
    const live = parts.filter((b) => b.count > 0);
    const total = live.reduce((s, b) => s + b.count, 0);
    const out = PacketBatch.concatShell(seq, live, total);
    for (const b of live) for (let i = 0; i < b.count; i++) out.copyBytesFrom(b, i);
    return out;
  }

  private static concatShell(seq: number, live: readonly PacketBatch[], total: number): PacketBatch {
    let bytes = 0;
    for (const b of live) for (let i = 0; i < b.count; i++) bytes += b.length[i] + (b.offset[i] - b.base[i]) + DEFAULT_HEADROOM;
    const out = new PacketBatch({ seq, capacity: total, data: new Uint8Array(bytes), linkType: live[0]?.linkType });
    out.arenaFill = 0;
    return out;
  }

  /** Write position in a fresh arena made by concat/merge. */
  private arenaFill = 0;

  private copyBytesFrom(src: PacketBatch, i: number): void {
    const j = this.count++;
    const head = src.offset[i] - src.base[i] + DEFAULT_HEADROOM;
    const start = this.arenaFill + head;
    this.data.set(src.data.subarray(src.offset[i], src.offset[i] + src.length[i]), start);
    this.base[j] = this.arenaFill;
    this.offset[j] = start;
    this.length[j] = src.length[i];
    this.arenaFill = start + src.length[i];
    this.id[j] = src.id[i];
    this.wireLength[j] = src.wireLength[i];
    this.tsSec[j] = src.tsSec[i];
    this.tsNsec[j] = src.tsNsec[i];
    for (let k = 0; k < src.annoCount; k++) this.anno(src.annoNames[k])[j] = src.annoCols[k][i];
  }
}

/** dst[j] = src[sel[from + j]] for j < n (a split output's column from its index list). */
function gatherI32(dst: Int32Array, src: Int32Array, sel: Int32Array, from: number, n: number): void {
  for (let j = 0; j < n; j++) dst[j] = src[sel[from + j]];
}

function gatherF64(dst: Float64Array, src: Float64Array, sel: Int32Array, from: number, n: number): void {
  for (let j = 0; j < n; j++) dst[j] = src[sel[from + j]];
}

/** col[j] = col[sel[from + j]] for j0 <= j < n, in place: sel[from + j] >= j, ascending (a split's largest port). */
function compactI32(col: Int32Array, sel: Int32Array, from: number, j0: number, n: number): void {
  for (let j = j0; j < n; j++) col[j] = col[sel[from + j]];
}

function compactF64(col: Float64Array, sel: Int32Array, from: number, j0: number, n: number): void {
  for (let j = j0; j < n; j++) col[j] = col[sel[from + j]];
}

/** dst[pos[from + i]] = src[i] for i < n (a merged column from one part and its positions). */
function scatterI32(dst: Int32Array, src: Int32Array, pos: Int32Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) dst[pos[from + i]] = src[i];
}

function scatterF64(dst: Float64Array, src: Float64Array, pos: Int32Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) dst[pos[from + i]] = src[i];
}
