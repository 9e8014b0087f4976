/**
 * PacketBatch: the columnar unit of work that flows between elements.
 *
 * Packets of a batch live in one byte arena (`data`); each packet is a window
 * `[offset[i], offset[i] + length[i])` into it. Every per-packet value is a typed-array
 * column, so a kernel (CPU loop, WebGPU storage buffer, FPGA stream) reads and writes
 * columns only. Header edits (Strip, DecIPTTL) change the arena or the window in place.
 * A split's outputs are selection views over the batch it consumed (an index list; columns are
 * gathered as elements read them), and a merge puts them back in packet order (see `split`, `merge`).
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

/** Scratch of `split`: packets per port (prefix sums), each port's write position and index list. */
let splitAt = new Int32Array(16);
let splitFill = new Int32Array(16);
const splitSels: Int32Array[] = [];
/** Scratch of `merge` (keepSelected): which of a split source's packets its views selected. */
let mergeKeep = new Uint8Array(1024);
const NO_SELECTION = new Int32Array(0);

/**
 * Columns a selection view (a split output) has not yet gathered from its source, one bit each;
 * ANNOS stands for every annotation column at once.
 */
const COL_ID = 1;
const COL_TS_SEC = 2;
const COL_OFFSET = 4;
const COL_LENGTH = 8;
const COL_BASE = 16;
const COL_WIRE_LENGTH = 32;
const COL_TS_NSEC = 64;
const COL_ANNOS = 128;
const COL_FIXED = COL_ID | COL_TS_SEC | COL_OFFSET | COL_LENGTH | COL_BASE | COL_WIRE_LENGTH | COL_TS_NSEC;

export class PacketBatch {
  /** Sequence number of the batch: every element sees and emits batches in this order. */
  seq: number;
  /** The byte arena shared by this batch's packets (and by batches split from it). */
  data: Uint8Array;
  /** Link-layer type of the packet bytes as they are now (pcap LINKTYPE_*): 1 Ethernet, 101 raw IP. */
  linkType: number;
  count = 0;
  readonly capacity: number;
  private readonly idCol: Float64Array;
  private readonly offsetCol: Int32Array;
  private readonly lengthCol: Int32Array;
  private readonly baseCol: Int32Array;
  private readonly wireLengthCol: Int32Array;
  private readonly tsSecCol: Float64Array;
  private readonly tsNsecCol: Int32Array;
  /**
   * A selection view (a split output, see `split`): its packets are `source`'s packets
   * `sel[0 .. viewCount)`, in order. Each column is gathered from the source the first time it is
   * read (`pending` holds the ones not yet gathered), so an element that reads only some columns
   * (Discard: `length`) costs only those: a split writes one index per packet, not nine columns.
   * The source is the batch the split consumed: nothing writes its columns afterwards, and it is
   * recycled only once its sequence has left the graph, as every batch derived from it.
   */
  private pending = 0;
  private source: PacketBatch | null = null;
  private sel: Int32Array = NO_SELECTION;
  private viewCount = 0;
  /** Views the last split of this batch handed out (see `merge`: all of them back, untouched). */
  private splitViews = 0;

  /** Global packet index assigned by the source: the packet index named in errors, and the merge order. */
  get id(): Float64Array {
    if ((this.pending & COL_ID) !== 0) this.gather(COL_ID);
    return this.idCol;
  }

  get offset(): Int32Array {
    if ((this.pending & COL_OFFSET) !== 0) this.gather(COL_OFFSET);
    return this.offsetCol;
  }

  get length(): Int32Array {
    if ((this.pending & COL_LENGTH) !== 0) this.gather(COL_LENGTH);
    return this.lengthCol;
  }

  /** Lowest offset the packet may grow back to (its headroom start); Unstrip and encapsulation check it. */
  get base(): Int32Array {
    if ((this.pending & COL_BASE) !== 0) this.gather(COL_BASE);
    return this.baseCol;
  }

  /** Original length on the wire (pcap orig_len). */
  get wireLength(): Int32Array {
    if ((this.pending & COL_WIRE_LENGTH) !== 0) this.gather(COL_WIRE_LENGTH);
    return this.wireLengthCol;
  }

  get tsSec(): Float64Array {
    if ((this.pending & COL_TS_SEC) !== 0) this.gather(COL_TS_SEC);
    return this.tsSecCol;
  }

  get tsNsec(): Int32Array {
    if ((this.pending & COL_TS_NSEC) !== 0) this.gather(COL_TS_NSEC);
    return this.tsNsecCol;
  }

  /** Whether this batch is a selection view with columns still to gather (tests; see `split`). */
  get isSelectionView(): boolean {
    return this.pending !== 0;
  }

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
    this.idCol = new Float64Array(cols, 0, n);
    this.tsSecCol = new Float64Array(cols, 8 * n, n);
    this.offsetCol = new Int32Array(cols, 16 * n, n);
    this.lengthCol = new Int32Array(cols, 20 * n, n);
    this.baseCol = new Int32Array(cols, 24 * n, n);
    this.wireLengthCol = new Int32Array(cols, 28 * n, n);
    this.tsNsecCol = new Int32Array(cols, 32 * n, n);
  }

  /**
   * Gather column `bit` of a selection view from its source. A view whose count was lowered
   * since the split gathers only the packets it still has; one raised (packets appended) gathers
   * the selected ones, and the caller writes the rest.
   */
  private gather(bit: number): void {
    const src = this.source as PacketBatch;
    const sel = this.sel;
    const n = Math.min(this.count, this.viewCount);
    this.pending &= ~bit;
    if (bit === COL_ID) gatherF64(this.idCol, src.idCol, sel, 0, n);
    else if (bit === COL_OFFSET) gatherI32(this.offsetCol, src.offsetCol, sel, 0, n);
    else if (bit === COL_LENGTH) gatherI32(this.lengthCol, src.lengthCol, sel, 0, n);
    else if (bit === COL_BASE) gatherI32(this.baseCol, src.baseCol, sel, 0, n);
    else if (bit === COL_WIRE_LENGTH) gatherI32(this.wireLengthCol, src.wireLengthCol, sel, 0, n);
    else if (bit === COL_TS_SEC) gatherF64(this.tsSecCol, src.tsSecCol, sel, 0, n);
    else if (bit === COL_TS_NSEC) gatherI32(this.tsNsecCol, src.tsNsecCol, sel, 0, n);
    else if (bit === COL_ANNOS) for (let k = 0; k < src.annoCount; k++) gatherI32(this.column(src.annoNames[k], null), src.annoCols[k], sel, 0, n);
    // Every column gathered: an ordinary batch again, the source no longer referred to.
    if (this.pending === 0) this.source = null;
  }

  /** Gather every column still pending (a selection view about to be read or written wholesale). */
  private materialize(): void {
    for (let bit = 1; this.pending !== 0; bit <<= 1) if ((this.pending & bit) !== 0) this.gather(bit);
  }

  /** The annotation column `name`, created zero-filled (or filled with `fill`) on first use. */
  anno(name: AnnotationName, fill = 0): Int32Array {
    if ((this.pending & COL_ANNOS) !== 0) this.gather(COL_ANNOS);
    return this.column(name, fill);
  }

  /**
   * The annotation column `name` for a caller that writes every packet's entry before anything
   * reads it (a kernel's output column): a column reused from an earlier use of this object
   * keeps its old values instead of being zeroed first.
   */
  annoToOverwrite(name: AnnotationName): Int32Array {
    if ((this.pending & COL_ANNOS) !== 0) this.gather(COL_ANNOS);
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
    this.pending = 0;
    this.source = null;
    this.splitViews = 0;
  }

  hasAnno(name: AnnotationName): boolean {
    // A view's annotations are its source's, gathered or not.
    if ((this.pending & COL_ANNOS) !== 0) return (this.source as PacketBatch).hasAnno(name);
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
    src.materialize();
    this.materialize();
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
   * Each output is a selection view over this batch (see `source`): the same arena, so header
   * edits downstream still work in place, and the packets' indices here, in their relative order
   * (`merge` restores the global order). No packet byte is copied, and no column either until an
   * element reads it: the split writes one index per packet. Writing each output's nine columns
   * here, gathered or compacted in place, was most of the 4-output router's split cost.
   *
   * The split consumes this batch: it becomes its outputs' source, so a caller must neither read
   * nor write it afterwards (an element owns the batch it processes, see SourceElement). When
   * every packet goes to one port, that port gets this very object.
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
    // Fast path: every packet goes to one port, the batch itself is that port's output.
    for (let p = 0; p < nports; p++) {
      if (at[p + 1] === n) {
        out[p] = this;
        return out;
      }
    }
    // The views read this batch's columns as they are now: a view being split is gathered first.
    this.materialize();
    const sels = splitSels;
    const fill = splitFill;
    const whole = this.annoCount > 0 ? COL_FIXED | COL_ANNOS : COL_FIXED;
    this.splitViews = 0;
    for (let p = 0; p < nports; p++) {
      const c = at[p + 1];
      fill[p] = 0;
      if (c === 0) {
        sels[p] = NO_SELECTION;
        continue;
      }
      const v = this.derive(this.seq, this.data, this.linkType, c);
      if (v.sel.length < c) v.sel = new Int32Array(v.capacity);
      v.count = c;
      v.viewCount = c;
      v.source = this;
      v.pending = whole;
      sels[p] = v.sel;
      out[p] = v;
      this.splitViews++;
    }
    for (let i = 0; i < n; i++) {
      const p = ports[i];
      if (p >= 0 && p < nports) sels[p][fill[p]++] = i;
    }
    // Not kept past the split: the index lists belong to the views.
    for (let p = 0; p < nports; p++) sels[p] = NO_SELECTION;
    return out;
  }

  /** Keep only packets with keep[i] !== 0, in place; returns how many were removed. */
  filterInPlace(keep: Uint8Array | Int32Array): number {
    this.materialize();
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
   * entries are scattered to their merged positions, a selection view's columns that no element
   * read straight from its source. Otherwise the bytes are copied into a fresh arena (with
   * headroom kept in front of every packet).
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
      // Packets appended to a view past its selection without touching a column: gathered first.
      if (b.pending !== 0 && b.count > b.viewCount) b.materialize();
    }
    const whole = PacketBatch.untouchedSplit(live);
    if (whole !== null) return whole.keepSelected(seq, live, total);
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
    for (const b of live) {
      const a = (b.pending & COL_ANNOS) !== 0 ? (b.source as PacketBatch) : b;
      for (let k = 0; k < a.annoCount; k++) out.anno(a.annoNames[k]);
    }
    let at = 0;
    for (const b of live) {
      const c = b.count;
      // A column a selection view has not gathered goes to its merged place straight from the
      // view's source, through the view's index list: one pass instead of a gather and a scatter.
      const pend = b.pending;
      const src = (b.source ?? b) as PacketBatch;
      const sel = b.sel;
      // Whose column to read, and through which index list (null: the part's own, in order).
      const owner = (bit: number): PacketBatch => ((pend & bit) !== 0 ? src : b);
      const through = (bit: number): Int32Array | null => ((pend & bit) !== 0 ? sel : null);
      scatterF64(out.idCol, owner(COL_ID).idCol, through(COL_ID), pos, at, c);
      scatterI32(out.offsetCol, owner(COL_OFFSET).offsetCol, through(COL_OFFSET), pos, at, c);
      scatterI32(out.lengthCol, owner(COL_LENGTH).lengthCol, through(COL_LENGTH), pos, at, c);
      scatterI32(out.baseCol, owner(COL_BASE).baseCol, through(COL_BASE), pos, at, c);
      scatterI32(out.wireLengthCol, owner(COL_WIRE_LENGTH).wireLengthCol, through(COL_WIRE_LENGTH), pos, at, c);
      scatterF64(out.tsSecCol, owner(COL_TS_SEC).tsSecCol, through(COL_TS_SEC), pos, at, c);
      scatterI32(out.tsNsecCol, owner(COL_TS_NSEC).tsNsecCol, through(COL_TS_NSEC), pos, at, c);
      if ((pend & COL_ANNOS) !== 0) for (let k = 0; k < src.annoCount; k++) scatterI32(out.anno(src.annoNames[k]), src.annoCols[k], sel, pos, at, c);
      else for (let k = 0; k < b.annoCount; k++) scatterI32(out.anno(b.annoNames[k]), b.annoCols[k], null, pos, at, c);
      at += c;
    }
    return out;
  }

  /**
   * The batch `live` was split from, when `live` is every view of that split, none of them read,
   * written, shortened or lengthened since: merging them back is then the source itself, less
   * the packets the split dropped (its columns are as they were: nothing writes a split's source).
   */
  private static untouchedSplit(live: readonly PacketBatch[]): PacketBatch | null {
    const src = live[0].source;
    if (src === null || live.length !== src.splitViews) return null;
    const whole = src.annoCount > 0 ? COL_FIXED | COL_ANNOS : COL_FIXED;
    for (const b of live) {
      if (b.source !== src || b.pending !== whole || b.count !== b.viewCount || b.data !== src.data || b.linkType !== src.linkType) return null;
    }
    return src;
  }

  /** `untouchedSplit`'s source as the merge of its views (`total` packets): itself, without the packets no view selected. */
  private keepSelected(seq: number, views: readonly PacketBatch[], total: number): PacketBatch {
    this.seq = seq;
    this.splitViews = 0;
    if (total !== this.count) {
      if (mergeKeep.length < this.count) mergeKeep = new Uint8Array(Math.max(this.count, 2 * mergeKeep.length));
      const keep = mergeKeep;
      keep.fill(0, 0, this.count);
      for (const v of views) {
        const sel = v.sel;
        for (let j = 0; j < v.count; j++) keep[sel[j]] = 1;
      }
      this.filterInPlace(keep);
    }
    // The merge consumed the views: emptied, so a stale reference reads nothing rather than
    // columns of a batch that has moved on.
    for (const v of views) {
      v.pending = 0;
      v.source = null;
      v.count = 0;
    }
    return this;
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
    src.materialize();
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

/** dst[j] = src[sel[from + j]] for j < n (a selection view's column from its index list). */
function gatherI32(dst: Int32Array, src: Int32Array, sel: Int32Array, from: number, n: number): void {
  for (let j = 0; j < n; j++) dst[j] = src[sel[from + j]];
}

function gatherF64(dst: Float64Array, src: Float64Array, sel: Int32Array, from: number, n: number): void {
  for (let j = 0; j < n; j++) dst[j] = src[sel[from + j]];
}

/**
 * dst[pos[from + i]] = src[i] for i < n (a merged column from one part and its positions), or
 * src[sel[i]] with an index list (a selection view's column not yet gathered, read from its source).
 */
function scatterI32(dst: Int32Array, src: Int32Array, sel: Int32Array | null, pos: Int32Array, from: number, n: number): void {
  if (sel === null) for (let i = 0; i < n; i++) dst[pos[from + i]] = src[i];
  else for (let i = 0; i < n; i++) dst[pos[from + i]] = src[sel[i]];
}

function scatterF64(dst: Float64Array, src: Float64Array, sel: Int32Array | null, pos: Int32Array, from: number, n: number): void {
  if (sel === null) for (let i = 0; i < n; i++) dst[pos[from + i]] = src[i];
  else for (let i = 0; i < n; i++) dst[pos[from + i]] = src[sel[i]];
}
