/**
 * The next-hop table: image leaves store a small index, this table says what it means.
 * Route files give gateways (and sometimes an opaque label such as an AS number), Click routes
 * give `GW OUT`, DPDK l3fwd gives a port. Identical next hops share one index (interned).
 */
import { MAX_NEXT_HOP } from './image-format.js';
import { formatIPv4 } from '../../routes/ipv4.js';

export interface NextHop {
  /** Gateway address (u32); absent for directly connected routes. */
  gateway?: number;
  /** Output port (Click's OUT, l3fwd's port). */
  port?: number;
  /** Opaque label (egress AS, synthetic next-hop name). */
  label?: string;
}

export function nextHopKey(h: NextHop): string {
  return `${h.gateway ?? ''}|${h.port ?? ''}|${h.label ?? ''}`;
}

/** Human form: `GW`, `GW OUT`, `OUT`, `label`, or `-` when the next hop carries nothing. */
export function formatNextHop(h: NextHop): string {
  const parts: string[] = [];
  if (h.gateway !== undefined) parts.push(formatIPv4(h.gateway));
  if (h.port !== undefined) parts.push(String(h.port));
  if (h.label !== undefined) parts.push(h.label);
  return parts.length ? parts.join(' ') : '-';
}

/**
 * Interned next hops, reference-counted by the structures whose routes use them, so that
 * churn through many unique gateways does not grow the table for ever.
 *
 * An index no route uses any more is reclaimed at the next commit (`reclaim`): its entry is
 * dropped and the slot goes on a FIFO free list. A slot is handed out again only once the
 * structure has published at least one more generation after the one that freed it: images of
 * older generations (a copy on a backend with a delta in flight, a batch looked up before the
 * commit) may still name the index, and must keep meaning "no route uses this" rather than a
 * new next hop. The image format is untouched: leaves still hold indices below MAX_NEXT_HOP.
 */
export class NextHopTable {
  private readonly list: (NextHop | undefined)[] = [];
  private readonly byKey = new Map<string, number>();
  /** Output port per index (-1 when the next hop names none), kept as a column for the element's hot loop. */
  ports = new Int32Array(16).fill(-1);
  /** Routes using each index (over every structure sharing this table). */
  private refs = new Int32Array(16);
  /** Indices that may have become unused since the last reclaim. */
  private pending: number[] = [];
  /** Reclaimed slots, oldest first, with the generation that freed them. */
  private freeSlots: number[] = [];
  private freeGens: number[] = [];
  private freeHead = 0;
  private generation = 0;
  private liveCount = 0;
  /** Bumped whenever an index changes meaning (reuse); caches keyed by index check it. */
  version = 0;

  intern(h: NextHop): number {
    const key = nextHopKey(h);
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    let i: number;
    if (this.freeHead < this.freeSlots.length && this.freeGens[this.freeHead] < this.generation) {
      i = this.freeSlots[this.freeHead++];
      if (this.freeHead > 1024 && this.freeHead * 2 > this.freeSlots.length) {
        this.freeSlots = this.freeSlots.slice(this.freeHead);
        this.freeGens = this.freeGens.slice(this.freeHead);
        this.freeHead = 0;
      }
      this.version++;
    } else {
      i = this.list.length;
      if (i > MAX_NEXT_HOP) throw new Error(`next-hop table is full (${MAX_NEXT_HOP + 1} entries)`);
      this.list.push(undefined);
      this.grow(i);
    }
    this.list[i] = Object.freeze({ ...h });
    this.byKey.set(key, i);
    this.ports[i] = h.port ?? -1;
    this.liveCount++;
    // Interned but not (yet) used by a route: reclaimed at the next commit unless a route takes it.
    if (this.refs[i] === 0) this.pending.push(i);
    return i;
  }

  get(i: number): NextHop {
    const h = this.list[i];
    if (h === undefined) throw new RangeError(`no next hop ${i}`);
    return h;
  }

  /**
   * Puts `h` at index `i` exactly: a state import reproducing another table's indices, since
   * packets carry indices in their nextHop annotation. `i` must be free or past the end; slots
   * skipped on the way are free slots.
   */
  internAt(i: number, h: NextHop): void {
    const key = nextHopKey(h);
    const found = this.byKey.get(key);
    if (found === i) return;
    if (found !== undefined) throw new Error(`next hop ${key} is at index ${found}, not ${i}`);
    if (i > MAX_NEXT_HOP) throw new Error(`next-hop table is full (${MAX_NEXT_HOP + 1} entries)`);
    if (this.list[i] !== undefined) throw new Error(`next-hop index ${i} holds ${nextHopKey(this.list[i]!)}`);
    while (this.list.length <= i) {
      const j = this.list.length;
      this.list.push(undefined);
      this.grow(j);
      if (j < i) {
        this.freeSlots.push(j);
        this.freeGens.push(this.generation);
      }
    }
    const k = this.freeSlots.indexOf(i, this.freeHead);
    if (k >= 0) {
      this.freeSlots.splice(k, 1);
      this.freeGens.splice(k, 1);
    }
    this.list[i] = Object.freeze({ ...h });
    this.byKey.set(key, i);
    this.ports[i] = h.port ?? -1;
    this.liveCount++;
    this.version++;
    if (this.refs[i] === 0) this.pending.push(i);
  }

  /** The index holding `h`, or undefined. */
  indexOf(h: NextHop): number | undefined {
    return this.byKey.get(nextHopKey(h));
  }

  has(i: number): boolean {
    return this.list[i] !== undefined;
  }

  /** Slots (live and free): indices are below this. */
  get size(): number {
    return this.list.length;
  }

  /** Next hops in the table now (what a reference-counted table returns to after churn). */
  get live(): number {
    return this.liveCount;
  }

  /** A route now uses index `i`. */
  acquire(i: number): void {
    this.grow(i);
    this.refs[i]++;
  }

  /** A route no longer uses index `i`. */
  release(i: number): void {
    if (i >= this.refs.length || this.refs[i] <= 0) return;
    if (--this.refs[i] === 0) this.pending.push(i);
  }

  /** Drop the entries no route uses; called by the structure after it published `generation`. */
  reclaim(generation: number): void {
    this.generation = generation;
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    for (const i of pending) {
      const h = this.list[i];
      if (this.refs[i] !== 0 || h === undefined) continue;
      this.byKey.delete(nextHopKey(h));
      this.list[i] = undefined;
      this.ports[i] = -1;
      this.liveCount--;
      this.freeSlots.push(i);
      this.freeGens.push(generation);
    }
  }

  private grow(i: number): void {
    if (i < this.refs.length && i < this.ports.length) return;
    let n = Math.max(this.refs.length, 16);
    while (n <= i) n *= 2;
    const r = new Int32Array(n);
    r.set(this.refs);
    this.refs = r;
    const p = new Int32Array(n).fill(-1);
    p.set(this.ports);
    this.ports = p;
  }
}
