/**
 * FlowTable: the host side of the flow table, its single writer.
 *
 * The table is a flat image (flow-table-image.ts) of fixed-size entries in two-choice buckets.
 * The writer classifies packets (lookup, insert), keeps each entry's timestamps and TCP state,
 * expires idle flows and applies the policy when full; readers (the flow-lookup kernel on any
 * backend, a mirror) see only the image, kept current by deltas of whole-entry writes.
 *
 * Time is the packets' own timestamps, never the wall clock, so a capture replays the same way
 * every run: an entry whose last packet is older than its protocol's idle timeout is expired
 * when a packet of its flow or of its buckets comes, and an incremental sweep driven by packet
 * time visits every bucket once per SWEEP seconds so idle flows end without new traffic.
 *
 * Memory cap: the image is allocated once (slots for CAPACITY flows plus bucket headroom) and
 * never grows; at CAPACITY live flows, or when both candidate buckets of a new key are full,
 * the policy decides: 'drop' the packet, 'pass' it untracked (flow -1), or 'evict' the least
 * recently seen entry of its candidate buckets (an approximate LRU, as hardware tables do).
 */
import type { ImageDelta } from '../image.js';
import { KEY_WORDS, PROTO_TCP, PROTO_UDP } from '../../flows/flow-key.js';
import { TCP_STATE_MASK, tcpClosed, tcpEstablished, tcpStateAfter } from '../../flows/tcp-state.js';
import {
  E_FIRST_NSEC, E_FIRST_SEC, E_KEY, FLOW_TABLE, E_LAST_NSEC, E_LAST_SEC, ENTRY_REVERSED, ENTRY_USED,
  FLOW_TABLE_LAYOUT, FLOW_TABLE_MAGIC, HEADER_WORDS, H_BUCKETS, H_ENTRY_WORDS, H_KEY_WORDS, H_LAYOUT, H_MAGIC, H_SEED, H_SLOTS,
  candidateBuckets, flowKeyHash, lookupOne,
} from './flow-table-image.js';
import { FlowLayout, type FlowField } from './flow-fields.js';

export type FullPolicy = 'drop' | 'pass' | 'evict';

/** Idle timeouts in seconds. */
export interface FlowTimeouts {
  /** Established TCP (both SYN and SYN-ACK seen), or a mid-stream TCP flow. */
  tcp: number;
  /** TCP whose handshake has not finished (SYN seen, no SYN-ACK): the SYN-flood guard. */
  tcpHandshake: number;
  /** TCP closed by FINs both ways or by a RST. */
  tcpClosed: number;
  udp: number;
  other: number;
}

export const DEFAULT_TIMEOUTS: FlowTimeouts = { tcp: 300, tcpHandshake: 5, tcpClosed: 10, udp: 60, other: 30 };

export interface FlowTableOptions {
  /** Most live flows (the memory cap). */
  capacity: number;
  timeouts?: Partial<FlowTimeouts>;
  policy?: FullPolicy;
  /** Declared flow-local fields (frozen by the table). */
  layout?: FlowLayout;
  /** Hash seed (the image carries it, so every reader hashes alike). */
  seed?: number;
  /** Seconds of packet time for the sweep to visit every bucket once (default 10). */
  sweepSeconds?: number;
}

/** Classification results besides an entry index. */
export const FLOW_UNTRACKED = -1;
export const FLOW_DROPPED = -2;

export type FlowEndReason = 'expired' | 'evicted' | 'final';

export const SLOTS_PER_BUCKET = 8;

/** scanForRoom's answers when the table is full: the policy passes the packet, or drops it. */
const FULL_NO_ROOM = -1;
const FULL_DROP = -2;

export interface FlowTableCounters {
  size: number;
  inserts: number;
  lookups: number;
  hits: number;
  evictions: number;
  expirations: number;
  drops_full: number;
  passed_full: number;
}

export class FlowTable {
  image: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly entryWords: number;
  readonly buckets: number;
  readonly slots: number;
  readonly entries: number;
  readonly capacity: number;
  readonly policy: FullPolicy;
  readonly timeouts: FlowTimeouts;
  readonly layout: FlowLayout;
  readonly seed: number;
  readonly counters: FlowTableCounters = { size: 0, inserts: 0, lookups: 0, hits: 0, evictions: 0, expirations: 0, drops_full: 0, passed_full: 0 };
  /** Called with an entry about to end (expired, evicted, or `finish`), before it is cleared. */
  onEnd: ((entry: number, reason: FlowEndReason) => void) | null = null;

  /** Set by `classify`: the packet ran in the reply direction of its flow. */
  lastReply = false;
  /** Set by `classify`: the packet started a new flow. */
  lastNew = false;
  /** Set by `classify`: the hint held the key (the lookup it came from was used as is). */
  lastHinted = false;

  private readonly sweepSeconds: number;
  private clockStart = -1;
  private swept = 0;
  private readonly dirty: Uint8Array;
  private dirtyList: number[] = [];
  private generation = 0;
  private headerDirty = true;

  constructor(opts: FlowTableOptions) {
    if (!(opts.capacity >= 1)) throw new Error(`flow table: capacity must be at least 1, got ${opts.capacity}`);
    this.capacity = Math.floor(opts.capacity);
    this.policy = opts.policy ?? 'evict';
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.layout = opts.layout ?? new FlowLayout();
    this.layout.freeze();
    this.seed = (opts.seed ?? 0x5eed) >>> 0;
    this.sweepSeconds = opts.sweepSeconds ?? 10;
    this.slots = SLOTS_PER_BUCKET;
    // A quarter more slots than flows keeps two-choice buckets from overflowing before the cap.
    let b = 1;
    while (b * this.slots < this.capacity * 1.25) b *= 2;
    this.buckets = b;
    this.entries = b * this.slots;
    this.entryWords = this.layout.entryWords;
    this.image = new Uint32Array(HEADER_WORDS + this.entries * this.entryWords);
    this.i32 = new Int32Array(this.image.buffer);
    this.f32 = new Float32Array(this.image.buffer);
    this.dirty = new Uint8Array(this.entries);
    const h = this.image;
    h[H_MAGIC] = FLOW_TABLE_MAGIC;
    h[H_LAYOUT] = FLOW_TABLE_LAYOUT;
    h[H_BUCKETS] = this.buckets;
    h[H_SLOTS] = this.slots;
    h[H_ENTRY_WORDS] = this.entryWords;
    h[H_KEY_WORDS] = KEY_WORDS;
    h[H_SEED] = this.seed;
  }

  /** The generation of the last delta taken (takeDelta): the image a mirror holds after applying it. */
  get publishedGeneration(): number {
    return this.generation;
  }

  /** Whether writes are pending for the next delta. */
  get hasPendingWrites(): boolean {
    return this.headerDirty || this.dirtyList.length > 0;
  }

  /** Bytes the image holds (fixed at construction: the memory cap). */
  get bytes(): number {
    return this.image.byteLength;
  }

  /** Word offset of entry `e` in the image. */
  base(e: number): number {
    return HEADER_WORDS + e * this.entryWords;
  }

  /** The entry holding the key at keys[k..], or FLOW_MISS; reads only (no counters, no expiry). */
  find(keys: Uint32Array, k: number): number {
    return lookupOne(this.image, keys, k, this.buckets, this.slots, this.entryWords, this.seed);
  }

  /**
   * Classify one packet: its key at keys[k..] (canonical when the caller is bidirectional,
   * `reversed` telling that the packet ran against it), its time and TCP flags. Returns the
   * entry index (a new entry when the key missed), FLOW_UNTRACKED or FLOW_DROPPED when the
   * table is full (per policy). Sets lastReply and lastNew.
   *
   * `hint`: the entry a flow-lookup kernel found for the key, possibly on an older generation
   * of the image (an offloaded lookup). It is trusted only when that entry holds the key now,
   * which spares the hash and the bucket scan; otherwise (a miss, a stale entry) the table
   * looks the key up itself. Either way the result and every side effect are the same: a hit
   * ends no other entry (misses and the sweep end idle ones), so a hint changes nothing but
   * the work done.
   */
  classify(keys: Uint32Array, k: number, reversed: boolean, sec: number, nsec: number, tcpFlags: number, hint = -1): number {
    const now = sec + nsec * 1e-9;
    this.advanceClock(now);
    this.counters.lookups++;
    const img = this.image;
    const ew = this.entryWords;
    this.lastHinted = hint >= 0 && hint < this.entries && this.holds(hint, keys, k);
    const known = this.lastHinted ? hint : lookupOne(img, keys, k, this.buckets, this.slots, ew, this.seed);
    const proto = keys[k + 9] & 0xff;
    let free = -1;
    if (known >= 0) {
      const p = HEADER_WORDS + known * ew;
      const t = img[p + E_LAST_SEC] + img[p + E_LAST_NSEC] * 1e-9;
      if (now - t <= this.timeoutOf(known)) {
        this.counters.hits++;
        const reply = reversed !== ((img[p] & ENTRY_REVERSED) !== 0);
        if (proto === PROTO_TCP) img[p] = (img[p] & ~TCP_STATE_MASK) | tcpStateAfter(img[p] & TCP_STATE_MASK, tcpFlags, reply);
        else if (reply) img[p] |= tcpStateAfter(0, 0, true);
        img[p + E_LAST_SEC] = sec;
        img[p + E_LAST_NSEC] = nsec;
        this.touch(known);
        this.lastReply = reply;
        this.lastNew = false;
        return known;
      }
      // Its flow idled out: the key starts a new flow in the same slot (room is made by the end).
      this.end(known, 'expired');
      free = known;
    } else free = this.scanForRoom(keys, k, now);
    if (free === FULL_NO_ROOM) {
      this.counters.passed_full++;
      return FLOW_UNTRACKED;
    }
    if (free === FULL_DROP) {
      this.counters.drops_full++;
      return FLOW_DROPPED;
    }
    const p = HEADER_WORDS + free * ew;
    img.fill(0, p, p + ew);
    img[p] = ENTRY_USED | (reversed ? ENTRY_REVERSED : 0) | (proto === PROTO_TCP ? tcpStateAfter(0, tcpFlags, false) : 0);
    for (let w = 0; w < KEY_WORDS; w++) img[p + E_KEY + w] = keys[k + w];
    img[p + E_FIRST_SEC] = img[p + E_LAST_SEC] = sec;
    img[p + E_FIRST_NSEC] = img[p + E_LAST_NSEC] = nsec;
    this.touch(free);
    this.counters.size++;
    this.counters.inserts++;
    this.lastReply = false;
    this.lastNew = true;
    return free;
  }

  /** Whether live entry `e` holds the key at keys[k..]. */
  private holds(e: number, keys: Uint32Array, k: number): boolean {
    const p = HEADER_WORDS + e * this.entryWords;
    if ((this.image[p] & ENTRY_USED) === 0) return false;
    for (let w = 0; w < KEY_WORDS; w++) if (this.image[p + E_KEY + w] !== keys[k + w]) return false;
    return true;
  }

  /**
   * Room for a key that missed: scan its two buckets, ending the idle entries met, and pick a
   * free slot of the less loaded one; when none (or at CAPACITY) apply the policy. Returns the
   * entry to fill, FULL_NO_ROOM (pass) or FULL_DROP.
   */
  private scanForRoom(keys: Uint32Array, k: number, now: number): number {
    const img = this.image;
    const ew = this.entryWords;
    const [b1, b2] = candidateBuckets(flowKeyHash(keys, k, this.seed), this.buckets);
    // First free slot and live entries of each candidate bucket: a new key goes to the less
    // loaded one (the power of two choices keeps buckets from overflowing below the cap).
    let free0 = -1;
    let free1 = -1;
    let used0 = 0;
    let used1 = 0;
    let oldest = -1;
    let oldestT = Infinity;
    for (let pass = 0; pass < 2; pass++) {
      const first = (pass === 0 ? b1 : b2) * this.slots;
      for (let e = first; e < first + this.slots; e++) {
        const p = HEADER_WORDS + e * ew;
        if ((img[p] & ENTRY_USED) === 0) {
          if (pass === 0 && free0 < 0) free0 = e;
          else if (pass === 1 && free1 < 0) free1 = e;
          continue;
        }
        // No entry holds the key (the lookup missed): every live one met is idle or in the way.
        const t = img[p + E_LAST_SEC] + img[p + E_LAST_NSEC] * 1e-9;
        if (now - t > this.timeoutOf(e)) {
          this.end(e, 'expired');
          if (pass === 0 && free0 < 0) free0 = e;
          else if (pass === 1 && free1 < 0) free1 = e;
        } else {
          if (pass === 0) used0++;
          else used1++;
          if (t < oldestT) {
            oldestT = t;
            oldest = e;
          }
        }
      }
    }
    let free = free0 >= 0 && (free1 < 0 || used0 <= used1) ? free0 : free1;
    if (free < 0 || this.counters.size >= this.capacity) {
      if (this.policy === 'evict' && (oldest >= 0 || free >= 0)) {
        const victim = oldest >= 0 ? oldest : this.oldestLive();
        this.end(victim, 'evicted');
        if (free < 0) free = victim;
      } else return this.policy === 'pass' ? FULL_NO_ROOM : FULL_DROP;
    }
    return free;
  }

  /** The idle timeout (seconds) that applies to entry `e` now. */
  timeoutOf(e: number): number {
    const p = this.base(e);
    const status = this.image[p];
    const proto = this.image[p + E_KEY + 9] & 0xff;
    if (proto === PROTO_TCP) {
      if (tcpClosed(status)) return this.timeouts.tcpClosed;
      // A flow seen from mid-stream (no SYN) is treated as established.
      if ((status & 1) !== 0 && !tcpEstablished(status)) return this.timeouts.tcpHandshake;
      return this.timeouts.tcp;
    }
    return proto === PROTO_UDP ? this.timeouts.udp : this.timeouts.other;
  }

  /** Mark live entry `e` used at (sec, nsec) without a packet of its own (a NAT alias kept alive by its forward flow). */
  refresh(e: number, sec: number, nsec: number): void {
    const p = this.base(e);
    const t = this.image[p + E_LAST_SEC] + this.image[p + E_LAST_NSEC] * 1e-9;
    if (sec + nsec * 1e-9 <= t) return;
    this.image[p + E_LAST_SEC] = sec;
    this.image[p + E_LAST_NSEC] = nsec;
    this.touch(e);
  }

  /** Whether entry `e` holds a flow. */
  isLive(e: number): boolean {
    return (this.image[this.base(e)] & ENTRY_USED) !== 0;
  }

  /** The least recently seen live entry of the whole table (eviction when the cap, not a bucket, is full). */
  private oldestLive(): number {
    let best = -1;
    let bestT = Infinity;
    for (let e = 0; e < this.entries; e++) {
      const p = this.base(e);
      if ((this.image[p] & ENTRY_USED) === 0) continue;
      const t = this.image[p + E_LAST_SEC] + this.image[p + E_LAST_NSEC] * 1e-9;
      if (t < bestT) {
        bestT = t;
        best = e;
      }
    }
    return best;
  }

  /** Advance the sweep to packet time `now`: every bucket is visited once per sweepSeconds. */
  private advanceClock(now: number): void {
    if (this.clockStart < 0) {
      this.clockStart = now;
      return;
    }
    const target = Math.floor(((now - this.clockStart) / this.sweepSeconds) * this.buckets);
    if (target <= this.swept) return;
    const n = Math.min(target - this.swept, this.buckets);
    for (let s = 0; s < n; s++) this.sweepBucket((this.swept + s) % this.buckets, now);
    this.swept = target;
  }

  private sweepBucket(b: number, now: number): void {
    const img = this.image;
    for (let e = b * this.slots; e < (b + 1) * this.slots; e++) {
      const p = this.base(e);
      if ((img[p] & ENTRY_USED) === 0) continue;
      if (now - (img[p + E_LAST_SEC] + img[p + E_LAST_NSEC] * 1e-9) > this.timeoutOf(e)) this.end(e, 'expired');
    }
  }

  private end(e: number, reason: FlowEndReason): void {
    this.onEnd?.(e, reason);
    if (reason === 'expired') this.counters.expirations++;
    else if (reason === 'evicted') this.counters.evictions++;
    this.image[this.base(e)] = 0;
    this.counters.size--;
    this.touch(e);
  }

  /** End every live flow (reason 'final'), e.g. at the end of a capture; the table is empty after. */
  finish(): void {
    for (let e = 0; e < this.entries; e++) if (this.isLive(e)) this.end(e, 'final');
  }

  /** Live entries, in index order. */
  *live(): Generator<number> {
    for (let e = 0; e < this.entries; e++) if (this.isLive(e)) yield e;
  }

  // ---- flow-local fields ----

  get(e: number, f: FlowField): number {
    const p = this.base(e) + f.offset;
    switch (f.type) {
      case 'u32':
        return this.image[p];
      case 'i32':
        return this.i32[p];
      case 'f32':
        return this.f32[p];
      case 'u64':
        return this.image[p] + this.image[p + 1] * 2 ** 32;
    }
  }

  set(e: number, f: FlowField, v: number): void {
    const p = this.base(e) + f.offset;
    switch (f.type) {
      case 'u32':
        this.image[p] = v;
        break;
      case 'i32':
        this.i32[p] = v;
        break;
      case 'f32':
        this.f32[p] = v;
        break;
      case 'u64':
        this.image[p] = v % 2 ** 32;
        this.image[p + 1] = Math.floor(v / 2 ** 32);
        break;
    }
    this.touch(e);
  }

  add(e: number, f: FlowField, v: number): void {
    this.set(e, f, this.get(e, f) + v);
  }

  // ---- image and deltas ----

  private touch(e: number): void {
    if (this.dirty[e] === 0) {
      this.dirty[e] = 1;
      this.dirtyList.push(e);
    }
  }

  /** A copy of the image and the generation it is at: where a mirror starts. */
  snapshot(): { image: Uint32Array; generation: number } {
    this.takeDelta();
    return { image: this.image.slice(), generation: this.generation };
  }

  /** The writes since the last delta (or snapshot): whole entries that changed, header first time. */
  takeDelta(): ImageDelta {
    const writes: ImageDelta['writes'] = [];
    if (this.headerDirty) {
      writes.push({ offset: 0, words: this.image.slice(0, HEADER_WORDS) });
      this.headerDirty = false;
    }
    const list = this.dirtyList.sort((a, b) => a - b);
    for (const e of list) {
      this.dirty[e] = 0;
      const p = this.base(e);
      writes.push({ offset: p, words: this.image.slice(p, p + this.entryWords) });
    }
    this.dirtyList = [];
    const from = this.generation++;
    return { kind: FLOW_TABLE, fromGeneration: from, toGeneration: this.generation, length: this.image.length, writes };
  }
}
