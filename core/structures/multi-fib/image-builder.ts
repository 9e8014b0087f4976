/**
 * Builds image entries from the logical form, one /16 at a time: the answers of every FIB
 * are painted into a 256-slot level-1 array (and 256-slot level-2 arrays under /24s that
 * hold longer routes) in ascending length order — that is leaf pushing — then each slot's
 * answer vector becomes a LEAF (all FIBs agree) or a RECORD (the FIBs that differ from the
 * most common answer), and each array becomes a run-compressed node, hash-consed.
 *
 * Reference protocol: every entry a build returns carries one reference owned by the caller;
 * a node holds one reference per run entry.
 */
import {
  NARROW_NO_ROUTE as NARROW_NO_ROUTE_VALUE, NODE_COUNT_WORD as NODE_COUNT_WORD_VALUE, NODE_HEADER_WORDS as NODE_HEADER_WORDS_VALUE,
  NO_ROUTE as NO_ROUTE_VALUE, VALUE_MASK, popcount32,
} from './image-format.js';
import type { ImageStore } from './image-store.js';
import type { RouteStore } from './route-store.js';

// Module-local copies of the layout constants the per-slot loops use: V8 loads an imported
// binding on every use inside a loop, but folds a module's own const (as in lookup-batch.ts).
const NARROW_NO_ROUTE = 0xffff;
const NODE_COUNT_WORD = 8;
const NODE_HEADER_WORDS = 10;
const NO_ROUTE = 0x3fffffff;
if (NARROW_NO_ROUTE !== NARROW_NO_ROUTE_VALUE || NODE_COUNT_WORD !== NODE_COUNT_WORD_VALUE || NODE_HEADER_WORDS !== NODE_HEADER_WORDS_VALUE || NO_ROUTE !== NO_ROUTE_VALUE) {
  throw new Error('image-builder: constants out of step with image-format.ts');
}

export class ImageBuilder {
  private k = 0;
  private live: Uint8Array = new Uint8Array(0);
  private l1 = new Int32Array(0);
  private l2 = new Int32Array(0);
  private readonly e1 = new Uint32Array(256);
  private readonly e2 = new Uint32Array(256);
  private readonly need = new Uint8Array(256);
  private readonly cut = new Uint8Array(257);
  private readonly cut2 = new Uint8Array(257);
  private readonly owned1 = new Uint8Array(256);
  private readonly owned2 = new Uint8Array(256);
  private ids = new Int32Array(64);
  private longIdx = new Int32Array(64);
  private readonly nodeWords = new Uint32Array(NODE_HEADER_WORDS + 256);
  private readonly runEntries = new Uint32Array(256);
  private readonly needList = new Int32Array(256);
  private recWords = new Uint32Array(2);
  private vals = new Int32Array(0);

  constructor(private readonly routes: RouteStore, private readonly img: ImageStore) {}

  /** FIB slots 0..k-1; `live[f]` says which hold a FIB (dead slots take any answer). */
  setFibs(k: number, live: Uint8Array): void {
    this.live = live;
    if (k === this.k) return;
    this.k = k;
    this.l1 = new Int32Array(256 * k);
    this.l2 = new Int32Array(k);
    this.recWords = new Uint32Array(2 + 2 * k);
    this.vals = new Int32Array(k);
  }

  /**
   * The L0 entry for /16 `x`, given each FIB's inherited answer (`inh[inhOff + f]`, NO_ROUTE
   * for none). With `reuse`, only routes longer than /24 changed, and only under the /24s
   * marked in `reuse.dirty`: the other level-2 nodes are taken from the old entry unchanged.
   */
  build16(x: number, inh: Int32Array, inhOff: number, reuse?: { old: number; dirty: Uint8Array }): number {
    const k = this.k;
    const n = this.routes.bucketN[x];
    if (n === 0 || k === 0) return this.leafFor(inh, inhOff);
    if (k === 1 && this.live[0] === 1) return this.build16Single(x, inh[inhOff], reuse);
    // Bucket x is the pool slice base .. base + n (route-store.ts).
    const keys = this.routes.keys;
    const nhs = this.routes.nhs;
    const base = this.routes.bucketStart[x];
    const l1 = this.l1;
    const need = this.need;
    const cut = this.cut;
    for (let f = 0; f < k; f++) l1[f] = inh[inhOff + f];
    for (let filled = k; filled < 256 * k; filled *= 2) l1.copyWithin(filled, 0, Math.min(filled, 256 * k - filled));
    let nLong = 0;
    for (let i = base; i < base + n; i++) {
      const key = keys[i];
      const len = key & 63;
      const low = (key >>> 6) & 0xffff;
      if (len <= 24) {
        const f = key >>> 22;
        const v = nhs[i];
        const start = low >>> 8;
        const end = start + (1 << (24 - len));
        for (let s = start; s < end; s++) l1[s * k + f] = v;
        cut[start] = 1;
        cut[end] = 1;
      } else {
        const s = low >>> 8;
        need[s] = 1;
        cut[s] = 1;
        cut[s + 1] = 1;
        if (nLong === this.longIdx.length) {
          const g = new Int32Array(nLong * 2);
          g.set(this.longIdx);
          this.longIdx = g;
        }
        this.longIdx[nLong++] = i;
      }
    }
    // Slots between cuts have the answers of the slot before: only cuts need a new entry.
    const e1 = this.e1;
    const owned = this.owned1;
    for (let s = 0; s < 256; s++) {
      if (need[s] === 1) {
        need[s] = 0;
        const kept = reuse !== undefined && reuse.dirty[s] === 0 ? this.slotEntry(reuse.old, s) : 0;
        if (kept >>> 30 >= 2) {
          e1[s] = kept;
          this.img.retain(kept);
        } else e1[s] = this.build24(s, keys, nhs, nLong);
        owned[s] = 1;
      } else if (s === 0 || cut[s] === 1) {
        e1[s] = this.leafFor(l1, s * k);
        owned[s] = 1;
      } else {
        e1[s] = e1[s - 1];
        owned[s] = 0;
      }
      cut[s] = 0;
    }
    cut[256] = 0;
    return this.makeNode(e1, owned);
  }

  /**
   * `build16` for one live FIB (a router's table, the full-table load): every answer is a leaf,
   * so the routes paint next hops straight into the entries (ascending length, `fill` for
   * spans), no answer vectors, no records, and only the /24s with longer routes are visited.
   * The node is the same as the general path's: makeNode sees the same 256 entries.
   */
  private build16Single(x: number, inherited: number, reuse?: { old: number; dirty: Uint8Array }): number {
    const keys = this.routes.keys;
    const nhs = this.routes.nhs;
    const base = this.routes.bucketStart[x];
    const end = base + this.routes.bucketN[x];
    // A /16 whose one route is the /16 itself (a quarter of a full table's /16s): every slot is
    // that next hop, one run, which makeNode collapses to the leaf: the same entry without the
    // two 256-slot passes.
    if (end - base === 1 && (keys[base] & 63) === 16) return nhs[base];
    const e1 = this.e1;
    const need = this.need;
    e1.fill(inherited);
    let nLong = 0;
    let nNeed = 0;
    const needList = this.needList;
    for (let i = base; i < end; i++) {
      const key = keys[i];
      const len = key & 63;
      const low = (key >>> 6) & 0xffff;
      if (len <= 24) {
        const start = low >>> 8;
        const span = 1 << (24 - len);
        const v = nhs[i];
        if (span === 1) e1[start] = v;
        else e1.fill(v, start, start + span);
      } else {
        const s = low >>> 8;
        if (need[s] === 0) {
          need[s] = 1;
          needList[nNeed++] = s;
        }
        if (nLong === this.longIdx.length) {
          const g = new Int32Array(nLong * 2);
          g.set(this.longIdx);
          this.longIdx = g;
        }
        this.longIdx[nLong++] = i;
      }
    }
    // Level-2 nodes in slot order, as the general path builds them: the image's placement must
    // not depend on the order of same-length routes in the bucket (consumed and copied loads).
    if (nNeed > 1) needList.subarray(0, nNeed).sort();
    for (let j = 0; j < nNeed; j++) {
      const s = needList[j];
      need[s] = 0;
      const kept = reuse !== undefined && reuse.dirty[s] === 0 ? this.slotEntry(reuse.old, s) : 0;
      if (kept >>> 30 >= 2) {
        this.img.retain(kept);
        e1[s] = kept;
      } else e1[s] = this.build24Single(s, e1[s], keys, nhs, nLong);
      // A level-2 node equal to the slot before's (slots before are final: slot order) is one
      // run: its second reference goes back (makeNode's `owned` rule, without its 256-slot pass).
      if (s > 0 && e1[s] === e1[s - 1]) this.img.release(e1[s]);
    }
    return this.makeNode(e1, null);
  }

  /** `build24` for one live FIB: the /24's answer `leaf`, then its longer routes painted in length order. */
  private build24Single(s: number, leaf: number, keys: Int32Array, nhs: Int32Array, nLong: number): number {
    const e2 = this.e2;
    e2.fill(leaf);
    const longIdx = this.longIdx;
    for (let j = 0; j < nLong; j++) {
      const i = longIdx[j];
      const key = keys[i];
      const low = (key >>> 6) & 0xffff;
      if (low >>> 8 !== s) continue;
      const start = low & 255;
      const span = 1 << (32 - (key & 63));
      const v = nhs[i];
      if (span === 1) e2[start] = v;
      else e2.fill(v, start, start + span);
    }
    return this.makeNode(e2, null);
  }

  private build24(s: number, keys: Int32Array, nhs: Int32Array, nLong: number): number {
    const k = this.k;
    const l1 = this.l1;
    const vec = this.l2;
    const cut = this.cut2;
    if (this.ids.length < nLong) this.ids = new Int32Array(nLong);
    const ids = this.ids;
    let m = 0;
    for (let j = 0; j < nLong; j++) {
      const key = keys[this.longIdx[j]];
      const low = (key >>> 6) & 0xffff;
      if (low >>> 8 !== s) continue;
      ids[m++] = this.longIdx[j];
      cut[low & 255] = 1;
      cut[(low & 255) + (1 << (32 - (key & 63)))] = 1;
    }
    const e2 = this.e2;
    const owned = this.owned2;
    for (let t = 0; t < 256; t++) {
      if (t === 0 || cut[t] === 1) {
        // The answers at slot t: the /24's own answer, then its longer routes in length order.
        for (let f = 0; f < k; f++) vec[f] = l1[s * k + f];
        for (let j = 0; j < m; j++) {
          const key = keys[ids[j]];
          const t0 = (key >>> 6) & 255;
          if (t >= t0 && t < t0 + (1 << (32 - (key & 63)))) vec[key >>> 22] = nhs[ids[j]];
        }
        e2[t] = this.leafFor(vec, 0);
        owned[t] = 1;
      } else {
        e2[t] = e2[t - 1];
        owned[t] = 0;
      }
      cut[t] = 0;
    }
    cut[256] = 0;
    return this.makeNode(e2, owned);
  }

  /**
   * Entry of slot `s` in the wide level-1 node an entry points at (0 when the entry is not a
   * wide node: a narrow node holds only leaves, so there is no level-2 node to keep).
   */
  private slotEntry(e: number, s: number): number {
    if (e >>> 30 !== 2) return 0;
    const w = this.img.words;
    const node = e & VALUE_MASK;
    const c = s >>> 5;
    const bits = w[node + c] & ((2 << (s & 31)) - 1);
    const before = (w[node + NODE_COUNT_WORD + (c >>> 2)] >>> ((c & 3) << 3)) & 255;
    return w[node + NODE_HEADER_WORDS + before + popcount32(bits) - 1];
  }

  /** LEAF when every live FIB agrees, else a RECORD listing the FIBs that differ from the most common answer. */
  leafFor(vec: Int32Array, off: number): number {
    const k = this.k;
    const live = this.live;
    let first = -1;
    let same = true;
    let m = 0;
    for (let f = 0; f < k; f++) {
      if (live[f] === 0) continue;
      const v = vec[off + f];
      this.vals[m++] = v;
      if (first === -1) first = v;
      else if (v !== first) same = false;
    }
    if (m === 0) return NO_ROUTE;
    if (same) return first;
    const sorted = this.vals.subarray(0, m).sort();
    let best = sorted[0];
    let bestRun = 0;
    for (let i = 0; i < m; ) {
      let j = i + 1;
      while (j < m && sorted[j] === sorted[i]) j++;
      if (j - i > bestRun) {
        bestRun = j - i;
        best = sorted[i];
      }
      i = j;
    }
    const w = this.recWords;
    w[0] = best;
    let n = 0;
    for (let f = 0; f < k; f++) {
      if (live[f] === 0) continue;
      const v = vec[off + f];
      if (v === best) continue;
      w[2 + 2 * n] = f;
      w[3 + 2 * n] = v;
      n++;
    }
    w[1] = n;
    return this.img.internRecord(w, 2 + 2 * n);
  }

  /**
   * Run-compress 256 entries; a single run collapses to its entry. `owned[s]` says slot s
   * carries a reference (null: none does, or the caller released the duplicates itself): a
   * slot that repeats the slot before gives its reference back, the run entry keeps one. The
   * node is narrow (16-bit run entries) when every run is a leaf below NARROW_NO_ROUTE or
   * NO_ROUTE, else wide.
   */
  private makeNode(e: Uint32Array, owned: Uint8Array | null): number {
    const w = this.nodeWords;
    const runEntries = this.runEntries;
    let runs = 0;
    let counts = 0;
    // Without branches (a run starts where an entry differs from the one before: an
    // unpredictable outcome): every entry is stored at the next run position, which only
    // advances at a run start. ~e[0] differs from e[0]: slot 0 always starts a run.
    let prev = ~e[0];
    for (let c = 0; c < 8; c++) {
      if (c === 4) {
        w[NODE_COUNT_WORD] = counts;
        counts = 0;
      }
      counts |= runs << ((c & 3) << 3);
      let bitmap = 0;
      const base = c << 5;
      for (let b = 0; b < 32; b++) {
        const v = e[base + b];
        const x = v ^ prev;
        const d = (x | -x) >>> 31;
        runEntries[runs] = v;
        runs += d;
        bitmap |= d << b;
        prev = v;
      }
      w[c] = bitmap;
    }
    w[NODE_COUNT_WORD + 1] = counts;
    if (owned !== null) for (let s = 1; s < 256; s++) if (owned[s] === 1 && e[s] === e[s - 1]) this.img.release(e[s]);
    if (runs === 1) return runEntries[0];
    // Any run entry that a 16-bit half cannot carry (a node, a record, a big next hop).
    let wide = false;
    for (let i = 0; i < runs; i++) {
      const v = runEntries[i];
      if (v >= NARROW_NO_ROUTE && v !== NO_ROUTE) {
        wide = true;
        break;
      }
    }
    if (wide) {
      w.set(runEntries.subarray(0, runs), NODE_HEADER_WORDS);
      return this.img.internNode(w, NODE_HEADER_WORDS + runs);
    }
    const half = (v: number): number => (v === NO_ROUTE ? NARROW_NO_ROUTE : v);
    const pairs = runs >>> 1;
    for (let i = 0; i < pairs; i++) w[NODE_HEADER_WORDS + i] = (half(runEntries[2 * i]) | (half(runEntries[2 * i + 1]) << 16)) >>> 0;
    // An odd run count leaves the last word's upper half 0 (the contract).
    if ((runs & 1) === 1) w[NODE_HEADER_WORDS + pairs] = half(runEntries[runs - 1]);
    return this.img.internNarrowNode(w, NODE_HEADER_WORDS + ((runs + 1) >>> 1));
  }
}
