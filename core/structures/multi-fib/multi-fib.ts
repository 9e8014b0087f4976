/**
 * MultiFib: named FIBs (VRFs) sharing one image.
 *
 * The logical form (RouteStore) answers exact questions (which route matched, list a table);
 * the image (layout in image-format.ts) answers lookups on every backend. Route changes are
 * applied to the logical form at once and to the image at commit: the /16s they touch are
 * rebuilt (hash-consing finds the unchanged parts again), new nodes go into free space, and
 * the publishing word comes last — one L0 entry, or a fresh L0 copy and the header's H_L0
 * flip when several /16s changed. Each commit emits one ImageDelta to the `onDelta` listeners.
 */
import {
  HEADER_WORDS, H_FAMILY, H_FIB_COUNT, H_GENERATION, H_L0, H_MAGIC, H_USED_WORDS, H_VERSION,
  L0_ENTRIES, LAYOUT_VERSION, MAGIC, MAX_NEXT_HOP, NO_ROUTE,
} from './image-format.js';
import type { ImageDelta } from '../image.js';
import { ImageStore } from './image-store.js';
import { ImageBuilder } from './image-builder.js';
import { MAX_FIBS, RouteStore, type RouteRef } from './route-store.js';
import { NextHopTable } from './next-hops.js';
import { maskOf, formatPrefix } from '../../routes/ipv4.js';

export { MAX_FIBS } from './route-store.js';

export interface RouteMatch {
  prefix: number;
  len: number;
  nextHop: number;
}

export type RouteChange =
  | { op: 'add' | 'set'; fib: number; prefix: number; len: number; nextHop: number }
  | { op: 'remove'; fib: number; prefix: number; len: number };

/** Columns of one FIB's routes for bulk construction (host bits need not be clear). */
export interface RouteColumns {
  count: number;
  prefix: Int32Array;
  len: Uint8Array;
  /** Next-hop indices in the MultiFib's table. */
  nh: Int32Array;
}

export class RouteConflictError extends Error {
  constructor(readonly existing: RouteMatch) {
    super(`route ${formatPrefix(existing.prefix, existing.len)} exists`);
    this.name = 'RouteConflictError';
  }
}

export interface MemoryStats {
  bytes: number;
  words: number;
  nodes: number;
  /** Of `nodes`, those with 16-bit run entries (layout 2's NARROW_NODE). */
  narrowNodes: number;
  records: number;
  /** References to nodes and records over distinct ones: how much hash-consing saved. */
  sharing: number;
  freeWords: number;
}

export class MultiFib {
  readonly nextHops: NextHopTable;
  private readonly routes = new RouteStore();
  private store: ImageStore;
  private readonly builder: ImageBuilder;
  private names: (string | null)[] = [];
  private live = new Uint8Array(MAX_FIBS);
  private gen = 0;
  private depth = 0;
  private readonly dirty = new Uint8Array(L0_ENTRIES);
  private dirtyList: number[] = [];
  /** Per dirty /16: the /24s whose long (> /24) routes changed, or null when the whole /16 must be rebuilt. */
  private readonly dirty24 = new Map<number, Uint8Array | null>();
  private allDirty = false;
  private readonly listeners = new Set<(d: ImageDelta) => void>();

  /**
   * FIBs `fibNames` (indices in order), optionally filled in bulk with next hops from `nextHops`.
   * `adoptBulk`: the structure may keep the bulk columns' `prefix` and `nh` arrays as its route
   * storage and reorder them (the caller gives them up; RouteStore.bulkLoad says when it does).
   */
  constructor(fibNames: readonly string[] = ['default'], bulk?: readonly RouteColumns[], nextHops?: NextHopTable, adoptBulk = false) {
    this.nextHops = nextHops ?? new NextHopTable();
    for (const n of fibNames) this.addName(n);
    if (bulk !== undefined) {
      if (bulk.length !== fibNames.length) throw new Error('MultiFib: one route column set per FIB');
      // The store reads the columns as they are (host bits, duplicates): no copy of the routes.
      this.routes.bulkLoad(bulk.map((r, fib) => ({ fib, count: r.count, prefix: r.prefix, len: r.len, nh: r.nh })), adoptBulk);
      this.routes.forEachNextHop((nh) => this.nextHops.acquire(nh));
    }
    this.store = new ImageStore(HEADER_WORDS + L0_ENTRIES + 1024, HEADER_WORDS);
    this.builder = new ImageBuilder(this.routes, this.store);
    // The bulk build packs blocks at their exact sizes; commits allocate in size classes (image-store.ts).
    this.store.exact = true;
    this.buildAll();
    this.store.exact = false;
  }

  // ---- FIBs ----

  get fibCount(): number {
    return this.names.length;
  }

  fibNames(): { index: number; name: string; routes: number }[] {
    const out = [];
    for (let i = 0; i < this.names.length; i++) if (this.names[i] !== null) out.push({ index: i, name: this.names[i]!, routes: this.routes.count[i] });
    return out;
  }

  fibIndex(name: string): number {
    return this.names.indexOf(name);
  }

  isLive(fib: number): boolean {
    return fib >= 0 && fib < this.names.length && this.live[fib] === 1;
  }

  /** Create an empty FIB; its index is the lowest free slot and stays stable until deleted. */
  createFib(name: string): number {
    if (this.names.includes(name)) throw new Error(`FIB '${name}' exists`);
    const i = this.addName(name);
    this.markAll();
    this.autoCommit();
    return i;
  }

  deleteFib(fib: number): void {
    this.checkFib(fib);
    for (const r of this.routes.routesOf(fib)) this.nextHops.release(r.nextHop);
    this.routes.clearFib(fib);
    this.names[fib] = null;
    this.live[fib] = 0;
    while (this.names.length > 0 && this.names[this.names.length - 1] === null) this.names.pop();
    this.markAll();
    this.autoCommit();
  }

  private addName(name: string): number {
    let i = this.names.indexOf(null);
    if (i < 0) {
      if (this.names.length >= MAX_FIBS) throw new Error(`at most ${MAX_FIBS} FIBs`);
      i = this.names.length;
      this.names.push(name);
    } else this.names[i] = name;
    this.live[i] = 1;
    return i;
  }

  // ---- routes ----

  /** Add a route; a route with the same prefix and length fails (Click's add), use `replace` to overwrite. */
  addRoute(fib: number, prefix: number, len: number, nextHop: number): void {
    this.applyChanges([{ op: 'add', fib, prefix, len, nextHop }]);
  }

  /** Set a route; returns the next hop it replaced or -1. */
  replace(fib: number, prefix: number, len: number, nextHop: number): number {
    const old = this.getRoute(fib, prefix, len);
    this.applyChanges([{ op: 'set', fib, prefix, len, nextHop }]);
    return old;
  }

  /** Remove a route; returns its next hop or -1 when there was none (nothing changes then). */
  removeRoute(fib: number, prefix: number, len: number): number {
    const old = this.getRoute(fib, prefix, len);
    if (old >= 0) this.applyChanges([{ op: 'remove', fib, prefix, len }]);
    return old;
  }

  getRoute(fib: number, prefix: number, len: number): number {
    this.checkFib(fib);
    checkPrefix(len);
    return this.routes.get(fib, (prefix & maskOf(len)) >>> 0, len);
  }

  /**
   * Apply several changes as one: all are checked first (an `add` over an existing route or a
   * `remove` of a missing one throws and changes nothing), then applied, then committed as one
   * delta unless an update is open.
   */
  applyChanges(changes: readonly RouteChange[]): void {
    // Next hop each touched route will have after the changes so far (-1: absent).
    const pending = new Map<string, number>();
    for (const c of changes) {
      this.checkFib(c.fib);
      checkPrefix(c.len);
      const p = (c.prefix & maskOf(c.len)) >>> 0;
      if (c.op !== 'remove' && !(Number.isInteger(c.nextHop) && c.nextHop >= 0 && c.nextHop <= MAX_NEXT_HOP)) throw new RangeError(`next hop ${c.nextHop} out of range`);
      const key = `${c.fib}/${p}/${c.len}`;
      const current = pending.get(key) ?? this.routes.get(c.fib, p, c.len);
      if (c.op === 'add' && current >= 0) throw new RouteConflictError({ prefix: p, len: c.len, nextHop: current });
      if (c.op === 'remove' && current < 0) throw new Error(`route ${formatPrefix(p, c.len)} not found`);
      pending.set(key, c.op === 'remove' ? -1 : c.nextHop);
    }
    for (const c of changes) {
      const p = (c.prefix & maskOf(c.len)) >>> 0;
      // Reference counts: take the new next hop before letting go of the old (they may be the same).
      let old: number;
      if (c.op === 'remove') old = this.routes.delete(c.fib, p, c.len);
      else {
        this.nextHops.acquire(c.nextHop);
        old = this.routes.set(c.fib, p, c.len, c.nextHop);
      }
      if (old >= 0) this.nextHops.release(old);
      this.markPrefix(p, c.len);
    }
    this.autoCommit();
  }

  /**
   * Drop next hops interned for changes that were then refused (outside an update): a client
   * retrying conflicting adds with fresh gateways must not grow the table. Commits do this
   * themselves; callers that intern, apply and report the error call it when done.
   */
  reclaimNextHops(): void {
    if (this.depth === 0) this.nextHops.reclaim(this.gen);
  }

  /** Longest match in the logical form (handlers, the CLI); the image gives the same next hop. */
  lookup(fib: number, address: number): RouteMatch | null {
    this.checkFib(fib);
    const r = this.routes.lookup(fib, address >>> 0);
    return r === null ? null : { prefix: r.prefix, len: r.len, nextHop: r.nextHop };
  }

  /** FIB `fib`'s routes sorted by prefix then length. */
  routesOf(fib: number): RouteMatch[] {
    this.checkFib(fib);
    return this.routes
      .routesOf(fib)
      .sort((a, b) => a.prefix - b.prefix || a.len - b.len)
      .map((r: RouteRef) => ({ prefix: r.prefix, len: r.len, nextHop: r.nextHop }));
  }

  routeCount(fib: number): number {
    this.checkFib(fib);
    return this.routes.count[fib];
  }

  // ---- updates and deltas ----

  beginUpdate(): void {
    this.depth++;
  }

  /** Close an update; the outermost close commits. Returns the delta, or null when the image did not change. */
  commitUpdate(): ImageDelta | null {
    if (this.depth === 0) throw new Error('commitUpdate without beginUpdate');
    return --this.depth === 0 ? this.commit() : null;
  }

  onDelta(fn: (d: ImageDelta) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get generation(): number {
    return this.gen;
  }

  /** The current image (a view; it is replaced when the image grows, so take it again after updates). */
  get image(): Uint32Array {
    return this.store.words.subarray(0, this.store.used);
  }

  /** The same words as int32, the view the CPU batch lookup wants. */
  get imageI32(): Int32Array {
    return new Int32Array(this.store.words.buffer, this.store.words.byteOffset, this.store.used);
  }

  memory(): MemoryStats {
    const s = this.store.stats();
    const distinct = s.nodes + s.records;
    return {
      bytes: this.store.used * 4,
      words: this.store.used,
      nodes: s.nodes,
      narrowNodes: this.store.nodeWidths().narrow,
      records: s.records,
      sharing: distinct === 0 ? 1 : (s.nodeRefs + s.recordRefs) / distinct,
      freeWords: s.freeWords,
    };
  }

  private checkFib(fib: number): void {
    if (!this.isLive(fib)) throw new RangeError(`no FIB ${fib}`);
  }

  private markPrefix(prefix: number, len: number): void {
    if (this.allDirty) return;
    const x0 = prefix >>> 16;
    const n = len >= 16 ? 1 : 1 << (16 - len);
    if (n > 4096) return this.markAll();
    for (let x = x0; x < x0 + n; x++) {
      if (this.dirty[x] === 0) {
        this.dirty[x] = 1;
        this.dirtyList.push(x);
        this.dirty24.set(x, len > 24 ? new Uint8Array(256) : null);
      }
      const d = this.dirty24.get(x);
      if (d === null || d === undefined) continue;
      if (len > 24) d[(prefix >>> 8) & 255] = 1;
      else this.dirty24.set(x, null);
    }
  }

  private markAll(): void {
    this.allDirty = true;
  }

  private autoCommit(): void {
    if (this.depth === 0) this.commit();
  }

  /** Each live FIB's inherited answer for every /16, painted from the short routes in length order. */
  private inheritedTable(k: number): Int32Array {
    const t = new Int32Array(L0_ENTRIES * k).fill(NO_ROUTE);
    const shorts = [...this.routes.shortRoutes()].sort((a, b) => a.len - b.len);
    for (const r of shorts) {
      const x0 = r.prefix >>> 16;
      const end = x0 + (1 << (16 - r.len));
      for (let x = x0; x < end; x++) t[x * k + r.fib] = r.nextHop;
    }
    return t;
  }

  private buildAll(): void {
    const k = this.names.length;
    this.builder.setFibs(k, this.live);
    const inh = this.inheritedTable(k);
    const l0 = this.store.alloc(L0_ENTRIES);
    const entries = new Uint32Array(L0_ENTRIES);
    for (let x = 0; x < L0_ENTRIES; x++) entries[x] = this.builder.build16(x, inh, x * k);
    this.store.write(l0, entries);
    const h = new Uint32Array(HEADER_WORDS);
    h[H_MAGIC] = MAGIC;
    h[H_VERSION] = LAYOUT_VERSION;
    h[H_FAMILY] = 4;
    h[H_FIB_COUNT] = k;
    h[H_L0] = l0;
    h[H_GENERATION] = this.gen;
    h[H_USED_WORDS] = this.store.used;
    this.store.write(0, h);
  }

  private commit(): ImageDelta | null {
    const d = this.commitImage();
    // After publishing: next hops no route uses any more are dropped (reused a generation later).
    this.nextHops.reclaim(this.gen);
    return d;
  }

  private commitImage(): ImageDelta | null {
    const all = this.allDirty;
    const list = all ? null : this.dirtyList;
    this.allDirty = false;
    this.dirtyList = [];
    const dirty24 = all ? null : new Map(this.dirty24);
    this.dirty24.clear();
    if (list !== null) for (const x of list) this.dirty[x] = 0;
    else this.dirty.fill(0);
    if (list !== null && list.length === 0) return null;

    const store = this.store;
    store.releasePending();
    store.startLog();
    const k = this.names.length;
    this.builder.setFibs(k, this.live);
    const words = store.words;
    const l0 = words[H_L0];
    const xs = list ?? Array.from({ length: L0_ENTRIES }, (_, i) => i);
    const inhAll = xs.length > 256 ? this.inheritedTable(k) : null;
    const inh = new Int32Array(k);
    const changedX: number[] = [];
    const changedE: number[] = [];
    for (const x of xs) {
      let e: number;
      if (inhAll !== null) e = this.builder.build16(x, inhAll, x * k);
      else {
        for (let f = 0; f < k; f++) {
          const nh = this.live[f] === 1 ? this.routes.inherited(f, x) : -1;
          inh[f] = nh < 0 ? NO_ROUTE : nh;
        }
        const d = dirty24?.get(x);
        e = this.builder.build16(x, inh, 0, d ? { old: store.words[l0 + x], dirty: d } : undefined);
      }
      if (e === store.words[l0 + x]) store.release(e);
      else {
        changedX.push(x);
        changedE.push(e);
      }
    }
    const headerChanged = store.words[H_FIB_COUNT] !== k;
    // Nothing to publish and nothing written (a copy must see every write, even to blocks freed again).
    if (changedX.length === 0 && !headerChanged && store.logLength() === 0) {
      store.takeWrites();
      return null;
    }
    const from = this.gen++;
    const old: number[] = changedX.map((x) => store.words[l0 + x]);
    let newL0 = -1;
    if (changedX.length > 1) {
      newL0 = store.alloc(L0_ENTRIES);
      const copy = store.words.slice(l0, l0 + L0_ENTRIES);
      for (let i = 0; i < changedX.length; i++) copy[changedX[i]] = changedE[i];
      store.write(newL0, copy);
    }
    store.writeWord(H_FIB_COUNT, k);
    store.write(H_GENERATION, Uint32Array.of(this.gen, store.used));
    // Publishing writes last: one L0 entry, or the root flip to the fresh L0 copy.
    if (newL0 >= 0) {
      store.writeWord(H_L0, newL0);
      store.freePlain(l0);
    } else if (changedX.length === 1) store.writeWord(l0 + changedX[0], changedE[0]);
    for (const e of old) store.release(e);
    const delta: ImageDelta = { kind: 'multi-fib-v4', fromGeneration: from, toGeneration: this.gen, length: store.used, writes: store.takeWrites() };
    for (const fn of this.listeners) fn(delta);
    return delta;
  }
}

function checkPrefix(len: number): void {
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new RangeError(`prefix length ${len} is not 0..32`);
}
