/**
 * The reader thread of ThreadedPcapReader: reads a classic pcap file into the shared ring and
 * scans its records into the shared record columns (read-ring.ts), ahead of the main thread, so
 * the main thread neither waits on read(2) nor touches a record header. It scans right after each
 * piece it reads, while those bytes are still in its core's cache.
 *
 * The function is started as the worker's source text (`readWorkerSource`), not as a module
 * file: the same code then runs under the compiled build and under the test runner, which
 * loads TypeScript that a worker thread could not. So it must be self-contained: no imports, no
 * outer names; the ctrl indices are repeated here (read-ring.ts holds the named ones; a test
 * checks they agree, see READ_WORKER_CELLS).
 *
 * Classic pcap checks as in classic-pcap.ts: a record header or record cut by the end of the
 * file, or incl_len above maxPacket, ends the pass (classic pcap has no sync marker); the end is
 * published with its kind and file offset and the main thread reports it as a bad record.
 */
import type * as Fs from 'node:fs';
import type { ReadRingInit } from './read-ring.js';

/** The ctrl cells the worker body uses, by the names of read-ring.ts (checked by a test). */
export const READ_WORKER_CELLS = { WRITTEN: 0, CONSUMED: 1, RELEASED: 2, CMD: 3, PASS_DONE: 4, SIGNAL: 5, WAKE: 6, STALLED: 7, MAIN_WAITING: 8, END_KIND: 9, END_A: 10, END_B: 11, MESSAGE_LENGTH: 12, MAIN_WANTS: 13, READY: 14, WAKE_CONSUMED: 15, WAKE_RELEASED: 16 } as const;

export function readWorkerBody(fs: typeof Fs, d: ReadRingInit): void {
  const WRITTEN = 0, CONSUMED = 1, RELEASED = 2, CMD = 3, PASS_DONE = 4, SIGNAL = 5, WAKE = 6, STALLED = 7, MAIN_WAITING = 8, END_KIND = 9, END_A = 10, END_B = 11, MESSAGE_LENGTH = 12, MAIN_WANTS = 13, READY = 14, WAKE_CONSUMED = 15, WAKE_RELEASED = 16;
  const ring = new Uint8Array(d.ring);
  const view = new DataView(d.ring);
  const ringBytes = ring.length;
  const cap = d.recordCapacity;
  const mask = cap - 1;
  const tsSecCol = new Float64Array(d.records, 0, cap);
  const col = (k: number): Int32Array => new Int32Array(d.records, 8 * cap + 4 * k * cap, cap);
  const offsetCol = col(0), baseCol = col(1), lengthCol = col(2), wireCol = col(3), nsecCol = col(4), endCol = col(5);
  const ctrl = new Int32Array(d.ctrl);
  const endOffset = new Float64Array(d.endOffset);
  const le = d.littleEndian;
  const fracPerSec = d.nanosecond ? 1e9 : 1e6;
  const fracToNsec = d.nanosecond ? 1 : 1000;
  const maxPacket = d.maxPacket;
  /** Below this much room left at the ring's end, the next read starts a new lap instead. */
  const minRead = Math.min(d.pieceBytes, 1 << 16);

  let written = 0;
  /** Mono position of ring index 0 in the current lap. */
  let lapBase = 0;
  /** Ring index of the first byte not yet scanned (a record's start), and of the end of what is read. */
  let at = 0;
  let end = 0;
  let filePos = 0;
  /** Record entries free for certain (the main thread may have freed more). */
  let roomLeft = 0;

  const stopped = (): boolean => Atomics.load(ctrl, CMD) < 0;

  /**
   * Make the records scanned so far visible. The waiting main thread is woken only once as many
   * as it asked for are in (or `always`: a stall or the pass's end): a wake-up costs tens of
   * microseconds, one per piece read was most of this thread's time.
   */
  const publish = (always: boolean): void => {
    Atomics.store(ctrl, WRITTEN, written | 0);
    if (Atomics.load(ctrl, MAIN_WAITING) === 0) return;
    if (!always && ((written - Atomics.load(ctrl, MAIN_WANTS)) | 0) < 0) return;
    Atomics.add(ctrl, SIGNAL, 1);
    Atomics.notify(ctrl, SIGNAL);
  };

  /**
   * Wait until the main thread has consumed records up to `consumedAt` and released ring bytes up
   * to `releasedAt` (modulo 2^32), asking to be woken only then (WAKE_CONSUMED, WAKE_RELEASED);
   * false when told to stop meanwhile.
   */
  const waitFor = (consumedAt: number, releasedAt: number): boolean => {
    const reached = (): boolean => ((Atomics.load(ctrl, CONSUMED) - consumedAt) | 0) >= 0 && ((Atomics.load(ctrl, RELEASED) - releasedAt) | 0) >= 0;
    if (reached()) return true;
    Atomics.store(ctrl, WAKE_CONSUMED, consumedAt | 0);
    Atomics.store(ctrl, WAKE_RELEASED, releasedAt | 0);
    // Stalled before the main thread is woken: woken, it must see the stall, or it would wait
    // for a full batch that cannot come.
    Atomics.store(ctrl, STALLED, 1);
    publish(true);
    for (;;) {
      const wake = Atomics.load(ctrl, WAKE);
      if (reached() || stopped()) break;
      Atomics.wait(ctrl, WAKE, wake);
    }
    Atomics.store(ctrl, STALLED, 0);
    return !stopped();
  };

  /**
   * Ring bytes up to mono position `upTo` may be written once the previous lap's bytes below it
   * are released. When they are not yet, wait for a quarter of the ring more, but not past the
   * end of the last record handed out (nothing later can be released).
   */
  const waitForBytes = (upTo: number): boolean => {
    const least = (upTo - ringBytes) | 0;
    if (((Atomics.load(ctrl, RELEASED) - least) | 0) >= 0) return true;
    const releasable = written === 0 ? least : endCol[(written - 1) & mask];
    let target = (least + (ringBytes >> 2)) | 0;
    if (((target - releasable) | 0) > 0) target = releasable;
    if (((target - least) | 0) < 0) target = least;
    return waitFor(Atomics.load(ctrl, CONSUMED), target);
  };
  /** A record entry is free when the main thread has consumed past `written - cap`; when none is, wait for a quarter of them. */
  const recordRoom = (): boolean => ((written - Atomics.load(ctrl, CONSUMED)) | 0) < cap;
  const waitForRecords = (): boolean => recordRoom() || waitFor((written - cap + Math.max(1, cap >> 2)) | 0, Atomics.load(ctrl, RELEASED));

  const endPass = (pass: number, kind: number, a: number, b: number, fileOffset: number): void => {
    ctrl[END_KIND] = kind;
    ctrl[END_A] = a;
    ctrl[END_B] = b;
    endOffset[0] = fileOffset;
    // Every record before the end is published before the end is (the main thread reads them in that order).
    Atomics.store(ctrl, WRITTEN, written | 0);
    // What is left unscanned is never handed out: the next pass starts after it.
    at = end;
    Atomics.store(ctrl, PASS_DONE, pass);
    publish(true);
  };

  /** Where the last `scanRecords` stopped (a record's start). */
  let scanEnd = 0;

  /**
   * Records wholly in ring bytes `[from, to)` into the record ring from entry `w`, at most
   * `room`; returns how many, `scanEnd` where it stopped (before a record not wholly in, or one
   * with an absurd length: readPass handles both). Apart from readPass, and with no branch a
   * normal file never takes: optimized at the first piece, readPass with its lap, wait and end
   * code not yet run was deoptimized at the first lap and compiled again (two compiles of
   * 200-350 ms each on this loaded machine, in a run of about a second).
   */
  const scanRecords = (from: number, to: number, room: number, w: number, base: number): number => {
    let p = from;
    let k = 0;
    while (k < room && to - p >= 16) {
      const incl = view.getUint32(p + 8, le);
      const recEnd = p + 16 + incl;
      if (incl > maxPacket || recEnd > to) break;
      const e = (w + k) & mask;
      const frac = view.getUint32(p + 4, le);
      // Whole seconds carried out of an out-of-range fraction (seen in hand-made files),
      // without a branch: 0 for every normal record.
      const carry = Math.floor(frac / fracPerSec);
      const orig = view.getUint32(p + 12, le);
      tsSecCol[e] = view.getUint32(p, le) + carry;
      offsetCol[e] = p + 16;
      baseCol[e] = p;
      lengthCol[e] = incl;
      wireCol[e] = orig > 0x7fffffff ? 0x7fffffff : orig;
      nsecCol[e] = (frac - carry * fracPerSec) * fracToNsec;
      endCol[e] = (base + recEnd) | 0;
      k++;
      p = recEnd;
    }
    scanEnd = p;
    return k;
  };

  /** One pass over the file; false when told to stop. */
  const readPass = (fd: number, pass: number): boolean => {
    filePos = d.firstRecord;
    at = end;
    for (;;) {
      // Scan every whole record read so far.
      for (;;) {
        const got = scanRecords(at, end, roomLeft, written, lapBase);
        written += got;
        roomLeft -= got;
        at = scanEnd;
        if (end - at < 16) break;
        const incl = view.getUint32(at + 8, le);
        if (incl > maxPacket) {
          endPass(pass, 2, incl, 0, filePos - (end - at));
          return true;
        }
        if (at + 16 + incl > end) break;
        // Out of record entries. Room is counted down locally: the shared counter is read
        // again only when it runs out.
        if (!waitForRecords()) return false;
        roomLeft = cap - ((written - Atomics.load(ctrl, CONSUMED)) | 0);
      }
      publish(false);
      if (stopped()) return false;
      // The record at `at` needs this many bytes from `at` (its header first, if not yet in).
      const need = end - at >= 16 ? 16 + view.getUint32(at + 8, le) : 16;
      if (at + need > ringBytes || ringBytes - end < minRead) {
        // New lap: the unscanned tail moves to the ring's start once that is free.
        const tail = end - at;
        if (!waitForBytes(lapBase + ringBytes + Math.max(tail, need))) return false;
        ring.copyWithin(0, at, end);
        lapBase += ringBytes;
        at = 0;
        end = tail;
      }
      const want = Math.min(d.pieceBytes, ringBytes - end);
      if (!waitForBytes(lapBase + end + want)) return false;
      const n = fs.readSync(fd, ring, end, want, filePos);
      if (n === 0) {
        const left = end - at;
        if (left === 0) endPass(pass, 0, 0, 0, filePos);
        else if (left < 16) endPass(pass, 1, left, 0, filePos - left);
        else endPass(pass, 3, view.getUint32(at + 8, le), left - 16, filePos - left);
        return true;
      }
      end += n;
      filePos += n;
    }
  };

  let fd: number | null = null;
  let pass = 0;
  try {
    fd = fs.openSync(d.path, 'r');
    Atomics.store(ctrl, READY, 1);
    Atomics.notify(ctrl, READY);
    for (;;) {
      // Wait for the main thread to ask for the next pass (or to stop).
      let cmd = Atomics.load(ctrl, CMD);
      while (cmd === pass) {
        Atomics.wait(ctrl, CMD, pass);
        cmd = Atomics.load(ctrl, CMD);
      }
      if (cmd < 0) break;
      pass = cmd;
      if (!readPass(fd, pass)) break;
    }
  } catch (e) {
    const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, d.message.byteLength);
    new Uint8Array(d.message).set(text);
    ctrl[MESSAGE_LENGTH] = text.length;
    // Before the first pass (opening failed) the failure ends pass 1, the one the main thread waits on.
    endPass(Math.max(pass, 1), 4, 0, 0, filePos);
    Atomics.store(ctrl, READY, 1);
    Atomics.notify(ctrl, READY);
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** The worker's source text: the body above, called with node:fs and its workerData. */
export function readWorkerSource(): string {
  return `(${readWorkerBody.toString()})(require('node:fs'), require('node:worker_threads').workerData);`;
}
