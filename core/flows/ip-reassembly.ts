/**
 * IPv4 and IPv6 fragment reassembly (RFC 791, RFC 8200), host side, driven by packet time.
 *
 * A datagram is keyed by (version, source, destination, identification, and for IPv4 the
 * protocol). Fragments may come in any order and interleaved with other datagrams; their
 * payloads are copied into the datagram's buffer at their offsets, and the datagram is
 * complete when the last fragment has fixed its length and every byte below it is covered.
 * The completed packet keeps the first fragment's link header and IP header (IPv4: total
 * length, flags and checksum fixed; IPv6: Fragment header removed, payload length fixed).
 *
 * Overlap policy (what Linux does since 2018, RFC 5722 for IPv6): an overlap whose bytes are
 * identical to what the datagram already holds is accepted (a retransmitted fragment, counted
 * in `overlap_identical`); an overlap whose bytes disagree, or fragments that disagree about the
 * datagram's length, poison the datagram: every fragment of it, held or still to come until its
 * timeout, is dropped and counted (teardrop and its variants never produce a packet whose
 * contents depend on which fragment won). A fragment ending past 65535 bytes is dropped as
 * `oversize` (ping of death); one with a bad header or a non-final length that is not a
 * multiple of 8 as `malformed`.
 *
 * Limits: a datagram whose first fragment is older than `timeout` seconds (packet time) is
 * dropped (`timeout`); held bytes above `memory` evict the oldest datagrams (`memory`).
 */
import { setIPv4HeaderChecksum } from '../net/ip-checksum.js';

export type ReassemblyDropReason = 'malformed' | 'oversize' | 'overlap_conflict' | 'length_conflict' | 'timeout' | 'memory' | 'incomplete';

export const REASSEMBLY_DROP_REASONS: readonly ReassemblyDropReason[] = ['malformed', 'oversize', 'overlap_conflict', 'length_conflict', 'timeout', 'memory', 'incomplete'];

export const PASS = 0;
export const HELD = 1;
export const DROPPED = 2;
export const COMPLETE = 3;
export type PushResult = typeof PASS | typeof HELD | typeof DROPPED | typeof COMPLETE;

export interface ReassemblyOptions {
  /** Seconds (packet time) a datagram may wait for its fragments (default 30, Linux's ipfrag_time). */
  timeout?: number;
  /** Most bytes held in incomplete datagrams (default 4 MiB, Linux's ipfrag_high_thresh). */
  memory?: number;
}

interface Datagram {
  key: string;
  first: number;
  /** Link header and IP header (without IPv6's Fragment header) of the offset-0 fragment. */
  head: Uint8Array | null;
  version: number;
  /** IPv6: offset in `head` of the Next Header byte that named the Fragment header, and its replacement. */
  nhPos: number;
  nextHeader: number;
  /** Offset of the IP header in `head`. */
  ipAt: number;
  buf: Uint8Array;
  /** Covered byte ranges [start, end), sorted, disjoint. */
  ranges: number[];
  covered: number;
  total: number;
  fragments: number;
  bytes: number;
  poisoned: boolean;
}

const MAX_DATAGRAM = 65535;

export class IPReassembly {
  readonly timeout: number;
  readonly memory: number;
  readonly drops: Record<ReassemblyDropReason, number> = { malformed: 0, oversize: 0, overlap_conflict: 0, length_conflict: 0, timeout: 0, memory: 0, incomplete: 0 };
  fragments = 0;
  datagrams = 0;
  /** Fragments that went into emitted datagrams. */
  consumed = 0;
  overlapIdentical = 0;
  bytesHeld = 0;
  /** Fragments held in incomplete datagrams now. */
  held = 0;
  /** The packet bytes of the datagram the last `push` completed. */
  completed: Uint8Array | null = null;
  private readonly pending = new Map<string, Datagram>();

  constructor(opts: ReassemblyOptions = {}) {
    this.timeout = opts.timeout ?? 30;
    this.memory = opts.memory ?? 4 << 20;
  }

  /** Datagrams waiting for fragments. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * One packet: bytes [start, end) of `data`, its IP header at `ip`, its time `now` (seconds).
   * PASS: not a fragment. HELD: kept for its datagram. DROPPED: counted under a reason.
   * COMPLETE: it finished a datagram, whose bytes are in `completed`.
   */
  push(data: Uint8Array, start: number, end: number, ip: number, now: number): PushResult {
    this.expire(now);
    this.completed = null;
    const v = data[ip] >> 4;
    let key: string;
    let off: number;
    let more: boolean;
    let payload: number;
    let payloadEnd: number;
    let headEnd: number;
    let nhPos = -1;
    let nextHeader = 0;
    if (v === 4) {
      if (end - ip < 20) return PASS;
      const frag = (data[ip + 6] << 8) | data[ip + 7];
      more = (frag & 0x2000) !== 0;
      off = (frag & 0x1fff) << 3;
      if (!more && off === 0) return PASS;
      this.fragments++;
      const hl = (data[ip] & 15) << 2;
      const tl = (data[ip + 2] << 8) | data[ip + 3];
      if (hl < 20 || tl < hl || ip + tl > end) return this.drop('malformed');
      payload = ip + hl;
      payloadEnd = ip + tl;
      headEnd = payload;
      key = `4 ${data[ip + 9]} ${readHex(data, ip + 12, 8)} ${data[ip + 4]},${data[ip + 5]}`;
    } else if (v === 6) {
      if (end - ip < 40) return PASS;
      let nh = data[ip + 6];
      let nhAt = ip + 6;
      let p = ip + 40;
      const plEnd = ip + 40 + ((data[ip + 4] << 8) | data[ip + 5]);
      while ((nh === 0 || nh === 43 || nh === 60) && p + 2 <= end) {
        nhAt = p;
        nh = data[p];
        p += (data[p + 1] + 1) << 3;
      }
      if (nh !== 44) return PASS;
      this.fragments++;
      if (p + 8 > end || plEnd > end || plEnd < p + 8) return this.drop('malformed');
      const fo = (data[p + 2] << 8) | data[p + 3];
      off = fo & 0xfff8;
      more = (fo & 1) !== 0;
      nextHeader = data[p];
      nhPos = nhAt - start;
      headEnd = p;
      payload = p + 8;
      payloadEnd = plEnd;
      key = `6 ${readHex(data, ip + 8, 32)} ${readHex(data, p + 4, 4)}`;
    } else return PASS;
    const len = payloadEnd - payload;
    if (more && (len & 7) !== 0) return this.drop('malformed');
    if (off + len + (headEnd - ip) > MAX_DATAGRAM) return this.drop('oversize');

    let d = this.pending.get(key);
    if (d === undefined) {
      d = { key, first: now, head: null, version: v, nhPos: -1, nextHeader: 0, ipAt: 0, buf: new Uint8Array(Math.max(64, off + len)), ranges: [], covered: 0, total: -1, fragments: 0, bytes: 0, poisoned: false };
      this.pending.set(key, d);
    }
    if (d.poisoned) return this.drop('overlap_conflict');
    const fragEnd = off + len;
    // The datagram's length: fixed by the last fragment; every fragment must agree with it.
    if (!more) {
      if ((d.total >= 0 && d.total !== fragEnd) || (d.ranges.length > 0 && d.ranges[d.ranges.length - 1] > fragEnd)) return this.poison(d, 'length_conflict');
      d.total = fragEnd;
    } else if (d.total >= 0 && fragEnd > d.total) return this.poison(d, 'length_conflict');
    if (fragEnd > d.buf.length) {
      const grown = new Uint8Array(Math.min(MAX_DATAGRAM, Math.max(fragEnd, d.buf.length * 2)));
      grown.set(d.buf);
      d.buf = grown;
    }
    // Overlaps: identical bytes are fine, different bytes poison the datagram.
    let overlap = 0;
    for (let r = 0; r < d.ranges.length; r += 2) {
      const s = Math.max(off, d.ranges[r]);
      const e = Math.min(fragEnd, d.ranges[r + 1]);
      if (s >= e) continue;
      for (let q = s; q < e; q++) if (d.buf[q] !== data[payload + q - off]) return this.poison(d, 'overlap_conflict');
      overlap += e - s;
    }
    if (overlap > 0) this.overlapIdentical++;
    const headLen = off === 0 ? headEnd - start : 0;
    const grow = len - overlap + headLen;
    if (this.bytesHeld + grow > this.memory) {
      this.evictFor(grow, d);
      if (this.bytesHeld + grow > this.memory) {
        this.discard(d, 'memory');
        return this.drop('memory');
      }
    }
    d.buf.set(data.subarray(payload, payloadEnd), off);
    addRange(d.ranges, off, fragEnd);
    d.covered += len - overlap;
    if (off === 0 && d.head === null) {
      d.head = data.slice(start, headEnd);
      d.ipAt = ip - start;
      d.nhPos = nhPos;
      d.nextHeader = nextHeader;
    }
    d.fragments++;
    d.bytes += grow;
    this.bytesHeld += grow;
    this.held++;
    if (d.total < 0 || d.head === null || d.covered < d.total) return HELD;
    this.completed = build(d);
    this.consumed += d.fragments;
    this.release(d);
    this.datagrams++;
    return COMPLETE;
  }

  private drop(reason: ReassemblyDropReason): PushResult {
    this.drops[reason]++;
    return DROPPED;
  }

  /** Drop the datagram's held fragments and this one; later fragments of it drop until its timeout. */
  private poison(d: Datagram, reason: ReassemblyDropReason): PushResult {
    this.drops[reason] += d.fragments;
    this.release(d);
    d.poisoned = true;
    d.buf = new Uint8Array(0);
    d.ranges = [];
    d.head = null;
    this.pending.set(d.key, d);
    return this.drop(reason);
  }

  /** Forget the datagram's held bytes (it completed, was poisoned or dropped). */
  private release(d: Datagram): void {
    this.bytesHeld -= d.bytes;
    this.held -= d.fragments;
    d.bytes = 0;
    d.fragments = 0;
    this.pending.delete(d.key);
  }

  private discard(d: Datagram, reason: ReassemblyDropReason): void {
    this.drops[reason] += d.fragments;
    this.release(d);
  }

  /** Evict the oldest datagrams (not `keep`) until `grow` more bytes fit under the cap. */
  private evictFor(grow: number, keep: Datagram): void {
    for (const d of this.pending.values()) {
      if (this.bytesHeld + grow <= this.memory) return;
      if (d !== keep) this.discard(d, 'memory');
    }
  }

  /** End of stream: every datagram still incomplete is dropped (`incomplete`), so nothing stays held. */
  dropIncomplete(): void {
    for (const d of [...this.pending.values()]) this.discard(d, 'incomplete');
  }

  /** Drop datagrams whose first fragment came more than `timeout` seconds before `now`. */
  expire(now: number): void {
    for (const d of this.pending.values()) {
      if (now - d.first <= this.timeout) break;
      this.discard(d, 'timeout');
    }
  }
}

function readHex(data: Uint8Array, p: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += data[p + i].toString(16).padStart(2, '0');
  return s;
}

/** Insert [s, e) into the sorted disjoint ranges, merging neighbours. */
function addRange(r: number[], s: number, e: number): void {
  let i = 0;
  while (i < r.length && r[i + 1] < s) i += 2;
  let j = i;
  while (j < r.length && r[j] <= e) {
    s = Math.min(s, r[j]);
    e = Math.max(e, r[j + 1]);
    j += 2;
  }
  r.splice(i, j - i, s, e);
}

/** The reassembled packet: the first fragment's headers, fixed, and the whole payload. */
function build(d: Datagram): Uint8Array {
  const head = d.head!;
  const out = new Uint8Array(head.length + d.total);
  out.set(head);
  out.set(d.buf.subarray(0, d.total), head.length);
  const ip = d.ipAt;
  if (d.version === 4) {
    const tl = head.length - ip + d.total;
    out[ip + 2] = tl >> 8;
    out[ip + 3] = tl & 0xff;
    out[ip + 6] &= 0x40; // keep DF, clear MF and the offset
    out[ip + 7] = 0;
    setIPv4HeaderChecksum(out, ip);
  } else {
    const pl = head.length - ip - 40 + d.total;
    out[ip + 4] = pl >> 8;
    out[ip + 5] = pl & 0xff;
    out[d.nhPos] = d.nextHeader;
  }
  return out;
}
