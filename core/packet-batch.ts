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
  private readonly annotations = new Map<string, Int32Array>();
  /** Columns of an earlier use of this batch object (see `recycle`), handed out again by `anno`. */
  private spareColumns: Map<string, Int32Array> | null = null;

  constructor(init: PacketBatchInit) {
    this.seq = init.seq;
    this.capacity = init.capacity;
    this.data = init.data;
    this.linkType = init.linkType ?? 1;
    const n = init.capacity;
    this.id = new Float64Array(n);
    this.offset = new Int32Array(n);
    this.length = new Int32Array(n);
    this.base = new Int32Array(n);
    this.wireLength = new Int32Array(n);
    this.tsSec = new Float64Array(n);
    this.tsNsec = new Int32Array(n);
  }

  /** The annotation column `name`, created zero-filled (or filled with `fill`) on first use. */
  anno(name: AnnotationName, fill = 0): Int32Array {
    let col = this.annotations.get(name);
    if (col === undefined) {
      const spare = this.spareColumns?.get(name);
      if (spare !== undefined) {
        col = spare.fill(fill);
        this.spareColumns!.delete(name);
      } else {
        col = new Int32Array(this.capacity);
        if (fill !== 0) col.fill(fill);
      }
      this.annotations.set(name, col);
    }
    return col;
  }

  /**
   * Make this batch object a fresh, empty batch again (a source reusing batches once the
   * scheduler has released their sequence number: nothing refers to them any more). Its
   * annotation columns are kept to be handed out, zeroed, by `anno`: no annotation survives.
   */
  recycle(seq: number, data: Uint8Array, linkType: number): void {
    this.seq = seq;
    this.data = data;
    this.linkType = linkType;
    this.count = 0;
    if (this.annotations.size > 0) {
      this.spareColumns ??= new Map();
      for (const [name, col] of this.annotations) this.spareColumns.set(name, col);
      this.annotations.clear();
    }
  }

  hasAnno(name: AnnotationName): boolean {
    return this.annotations.has(name);
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
    for (const [name, col] of src.annotations) this.anno(name)[j] = col[i];
  }

  /**
   * Split by output port: `ports[i]` is packet i's output (negative drops it).
   * Sub-batches share the arena, so header edits downstream still work in place.
   * Each sub-batch keeps the packets' relative order; `merge` restores the global order.
   */
  split(ports: Int32Array, nports: number): (PacketBatch | null)[] {
    const counts = new Int32Array(nports);
    for (let i = 0; i < this.count; i++) {
      const p = ports[i];
      if (p >= 0 && p < nports) counts[p]++;
    }
    const out: (PacketBatch | null)[] = new Array(nports).fill(null);
    // Fast path: every packet goes to one port, the batch itself is that port's output.
    for (let p = 0; p < nports; p++) {
      if (counts[p] === this.count) {
        out[p] = this;
        return out;
      }
    }
    for (let p = 0; p < nports; p++) if (counts[p] > 0) out[p] = this.emptyLike(counts[p]);
    // Annotation columns paired once per output, not looked up by name for every packet.
    const srcCols = [...this.annotations.values()];
    const dstCols = out.map((b) => (b === null ? [] : [...this.annotations.keys()].map((name) => b.anno(name))));
    for (let i = 0; i < this.count; i++) {
      const p = ports[i];
      if (p < 0 || p >= nports) continue;
      const b = out[p]!;
      const j = b.count++;
      b.id[j] = this.id[i];
      b.offset[j] = this.offset[i];
      b.length[j] = this.length[i];
      b.base[j] = this.base[i];
      b.wireLength[j] = this.wireLength[i];
      b.tsSec[j] = this.tsSec[i];
      b.tsNsec[j] = this.tsNsec[i];
      const cols = dstCols[p];
      for (let k = 0; k < srcCols.length; k++) cols[k][j] = srcCols[k][i];
    }
    return out;
  }

  /** Keep only packets with keep[i] !== 0, in place; returns how many were removed. */
  filterInPlace(keep: Uint8Array | Int32Array): number {
    let j = 0;
    const names = [...this.annotations.values()];
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
        for (const col of names) col[j] = col[i];
      }
      j++;
    }
    const removed = this.count - j;
    this.count = j;
    return removed;
  }

  /**
   * Merge batches of one sequence number back into global packet order (by `id`).
   * Inputs sharing one arena merge without copying bytes; otherwise the bytes are copied
   * into a fresh arena (with headroom kept in front of every packet).
   */
  static merge(seq: number, parts: readonly PacketBatch[]): PacketBatch {
    const live = parts.filter((b) => b.count > 0);
    if (live.length === 1) return live[0];
    const total = live.reduce((s, b) => s + b.count, 0);
    if (live.length === 0) return new PacketBatch({ seq, capacity: 0, data: parts[0]?.data ?? new Uint8Array(0), linkType: parts[0]?.linkType });
    const shared = live.every((b) => b.data === live[0].data);
    const out = shared
      ? new PacketBatch({ seq, capacity: total, data: live[0].data, linkType: live[0].linkType })
      : PacketBatch.concatShell(seq, live, total);
    const pos = new Int32Array(live.length);
    for (let n = 0; n < total; n++) {
      let best = -1;
      let bestId = Infinity;
      for (let k = 0; k < live.length; k++) {
        if (pos[k] < live[k].count && live[k].id[pos[k]] < bestId) {
          bestId = live[k].id[pos[k]];
          best = k;
        }
      }
      const src = live[best];
      const i = pos[best]++;
      if (shared) out.copyPacketFrom(src, i);
      else out.copyBytesFrom(src, i);
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
    for (const [name, col] of src.annotations) this.anno(name)[j] = col[i];
  }
}
