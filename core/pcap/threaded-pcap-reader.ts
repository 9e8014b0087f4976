/**
 * ThreadedPcapReader: a classic pcap file read and scanned by a worker thread (read-worker-body.ts)
 * into shared memory (read-ring.ts), while the main thread only builds batches over it.
 *
 * Why: read(2) out of the page cache and the walk over the record headers were most of
 * FromDump -> Discard's time, all on the main thread; with libuv's read-ahead the main thread
 * still walked record headers another core had just written, missing the cache on each one.
 * Here the worker reads a piece and scans it at once (its own cache), publishing each record in
 * the columns of a PacketBatch; the main thread copies a batch's worth of columns with a few bulk
 * copies and never touches the packet bytes. Batches stay zero-copy: their arena is the shared
 * ring, each packet's headroom its own 16-byte record header, and a ring byte is rewritten only
 * after every batch pointing at it has been released (`release`), so in-place edits are safe.
 *
 * Same packets, order, ids, timestamps and bad-record reports (packet index, file offset, reason)
 * as PcapReader over the same file; a batch holds up to the packets asked for, and fewer only at
 * the end of a pass or when the ring is full of bytes not yet released. The main thread waits for
 * records with Atomics.waitAsync (the event loop runs meanwhile); a batch that must wait comes
 * back as a promise.
 */
import { Worker } from 'node:worker_threads';
import { PacketBatch } from '../packet-batch.js';
import { PcapFormatError, type BadRecord } from './pcap-errors.js';
import { MAX_PACKET } from './record-scan.js';
import { MAX_BATCH } from './pcap-reader.js';
import { BatchPool } from './batch-pool.js';
import { readWorkerSource } from './read-worker-body.js';
import {
  CTRL_CELLS,
  C_CMD,
  C_CONSUMED,
  C_END_A,
  C_END_B,
  C_END_KIND,
  C_MAIN_WAITING,
  C_MAIN_WANTS,
  C_WAKE_CONSUMED,
  C_WAKE_RELEASED,
  C_MESSAGE_LENGTH,
  C_PASS_DONE,
  C_READY,
  C_RELEASED,
  C_SIGNAL,
  C_WAKE,
  C_WORKER_STALLED,
  C_WRITTEN,
  END_ABSURD_LENGTH,
  END_CLEAN,
  END_IO_ERROR,
  END_TRUNCATED_HEADER,
  END_TRUNCATED_RECORD,
  MESSAGE_BYTES,
  recordBytes,
  recordColumns,
  type ClassicHeader,
  type ReadRingInit,
  type RecordColumns,
} from './read-ring.js';

/** Ring size: measured here (FromDump -> Discard, 8, 4, 2 and 1 MiB), 2 MiB fastest: its bytes stay in cache between laps. A batch of 1024 full-size frames fits. */
export const RING_BYTES = 2 << 20;
/** Record entries: more than the largest batch the benchmarks ask for. */
export const RECORD_CAPACITY = 1 << 15;
/** A main thread out of records sleeps until this many batches' worth are in. */
const WAKE_BATCHES = 4;
/** What one read(2) of the worker asks for: small enough that the scan finds it still in cache. */
export const WORKER_PIECE_BYTES = 256 << 10;

export interface ThreadedReaderOptions {
  name: string;
  ringBytes?: number;
  recordCapacity?: number;
  pieceBytes?: number;
  maxBadRecords?: number;
  onBadRecord?: (bad: BadRecord) => void;
}

/** Atomics.waitAsync (ES2024; Node has it, this project's TypeScript lib does not declare it). */
type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class ThreadedPcapReader {
  readonly name: string;
  readonly format = 'pcap';
  readonly precision: number;
  readonly linkType: number;
  nextId = 0;
  badRecordCount = 0;
  readonly badRecords: BadRecord[] = [];
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private workerFailure: Error | null = null;
  private readonly ctrl: Int32Array;
  private readonly cols: RecordColumns;
  private readonly capacity: number;
  private readonly endOffset: Float64Array;
  private readonly message: Uint8Array;
  private readonly arena: Uint8Array;
  private readonly maxBad: number;
  private readonly onBad?: (bad: BadRecord) => void;
  /** Record entries copied out so far (modulo 2^32, as the ctrl cell). */
  private consumed = 0;
  /** Pass being read (1 the first); 0 before the first batch asks for it. */
  private pass = 0;
  /** This pass's end has been handled: nextBatch answers null until `rewind`. */
  private passEnded = false;
  /** Batches handed out, in order, with the mono ring position their bytes end at; then pooled. */
  private readonly lent: PacketBatch[] = [];
  private readonly lentEnd: number[] = [];
  private lentHead = 0;
  private readonly pool = new BatchPool();
  private closed = false;

  private constructor(path: string, header: ClassicHeader, firstRecord: number, opts: ThreadedReaderOptions) {
    this.name = opts.name;
    this.precision = header.precision;
    this.linkType = header.linkType;
    this.maxBad = opts.maxBadRecords ?? 1000;
    this.onBad = opts.onBadRecord;
    const cap = opts.recordCapacity ?? RECORD_CAPACITY;
    if ((cap & (cap - 1)) !== 0 || cap < 2) throw new Error(`ThreadedPcapReader: recordCapacity ${cap} is not a power of two`);
    // Room for the largest record twice over: one at the lap's start while another is still held.
    const ringBytes = Math.max(opts.ringBytes ?? RING_BYTES, 2 * (MAX_PACKET + 16));
    const init: ReadRingInit = {
      path,
      ring: new SharedArrayBuffer(ringBytes),
      records: new SharedArrayBuffer(recordBytes(cap)),
      recordCapacity: cap,
      ctrl: new SharedArrayBuffer(4 * CTRL_CELLS),
      endOffset: new SharedArrayBuffer(8),
      message: new SharedArrayBuffer(MESSAGE_BYTES),
      pieceBytes: Math.max(64, opts.pieceBytes ?? WORKER_PIECE_BYTES),
      firstRecord,
      littleEndian: header.littleEndian,
      nanosecond: header.nanosecond,
      maxPacket: MAX_PACKET,
    };
    this.capacity = cap;
    this.ctrl = new Int32Array(init.ctrl);
    this.cols = recordColumns(init.records, cap);
    this.endOffset = new Float64Array(init.endOffset);
    this.message = new Uint8Array(init.message);
    this.arena = new Uint8Array(init.ring);
    this.worker = new Worker(readWorkerSource(), { eval: true, workerData: init });
    // The worker must not keep the process alive on its own (it waits for commands).
    this.worker.unref();
    this.exited = new Promise((resolve) => {
      this.worker.on('error', (e) => this.failed(e));
      this.worker.on('exit', (code) => {
        if (!this.closed && this.workerFailure === null) this.failed(new Error(`reader thread exited (code ${code})`));
        resolve();
      });
    });
  }

  /** Start the reader thread for `path`, whose header PcapReader has read and checked. */
  static start(path: string, header: ClassicHeader, firstRecord: number, opts: ThreadedReaderOptions): ThreadedPcapReader {
    return new ThreadedPcapReader(path, header, firstRecord, opts);
  }

  private failed(e: Error): void {
    this.workerFailure ??= e;
    Atomics.notify(this.ctrl, C_READY);
    // Wake a main-thread wait: it then sees the failure.
    Atomics.add(this.ctrl, C_SIGNAL, 1);
    Atomics.notify(this.ctrl, C_SIGNAL);
  }

  /**
   * Settles once the reader thread has started and opened the file (a thread takes tens of
   * milliseconds to start: FromDump waits for it in `initialize`, not in its first batch).
   */
  ready(): Promise<void> {
    const ctrl = this.ctrl;
    const wait = (): Promise<void> => {
      if (Atomics.load(ctrl, C_READY) !== 0 || this.workerFailure !== null) return Promise.resolve();
      const w = waitAsync(ctrl, C_READY, 0);
      if (!w.async) return wait();
      this.worker.ref();
      return w.value.then(() => {
        this.worker.unref();
        return wait();
      });
    };
    return wait();
  }

  /**
   * The next batch of at most `maxPackets` packets; null at the end of the pass (until `rewind`);
   * a promise when the reader thread has not read that far yet.
   */
  nextBatch(seq: number, maxPackets: number): PacketBatch | null | Promise<PacketBatch | null> {
    if (this.passEnded) return null;
    const ctrl = this.ctrl;
    if (this.pass === 0) {
      // The first batch asks for the first pass: reading starts now, not at open.
      this.pass = 1;
      this.command(1);
    }
    const want = Math.min(MAX_BATCH, this.capacity, Math.max(1, Math.floor(maxPackets)));
    for (;;) {
      if (this.workerFailure !== null) throw new PcapFormatError(this.name, `cannot read: ${this.workerFailure.message}`);
      const signal = Atomics.load(ctrl, C_SIGNAL);
      // Pass end first: the worker publishes its last records before it, so `avail` is then final.
      const passDone = Atomics.load(ctrl, C_PASS_DONE) === this.pass;
      const avail = (Atomics.load(ctrl, C_WRITTEN) - this.consumed) | 0;
      // Whole batches unless the pass has ended or the worker waits for room (the ring is full).
      if (avail >= want || (avail > 0 && (passDone || Atomics.load(ctrl, C_WORKER_STALLED) !== 0))) return this.build(seq, Math.min(avail, want));
      if (passDone) return this.endPass();
      // Woken when several batches are in, not one: each wake-up costs both threads tens of
      // microseconds, and the worker reads on meanwhile (or stalls, which wakes this anyway).
      Atomics.store(ctrl, C_MAIN_WANTS, (this.consumed + Math.min(WAKE_BATCHES * want, this.capacity >> 1)) | 0);
      Atomics.store(ctrl, C_MAIN_WAITING, 1);
      // Published meanwhile (before the flag was seen): look again before sleeping.
      if (Atomics.load(ctrl, C_SIGNAL) !== signal || ((Atomics.load(ctrl, C_WRITTEN) - this.consumed) | 0) >= want) {
        Atomics.store(ctrl, C_MAIN_WAITING, 0);
        continue;
      }
      const w = waitAsync(ctrl, C_SIGNAL, signal);
      if (w.async) {
        // A pending waitAsync does not keep Node's event loop alive; the worker, while referenced, does.
        this.worker.ref();
        return w.value.then(() => {
          this.worker.unref();
          Atomics.store(ctrl, C_MAIN_WAITING, 0);
          return this.nextBatch(seq, maxPackets);
        });
      }
      Atomics.store(ctrl, C_MAIN_WAITING, 0);
    }
  }

  /** Every batch up to `seq` is finished: the ring bytes they pointed into may be read over. */
  release(seq: number): void {
    const lent = this.lent;
    let head = this.lentHead;
    let upTo: number | null = null;
    while (head < lent.length && lent[head].seq <= seq) {
      this.pool.give(lent[head]);
      upTo = this.lentEnd[head];
      head++;
    }
    if (head === lent.length) {
      lent.length = 0;
      this.lentEnd.length = 0;
      head = 0;
    } else if (head > 1024) {
      lent.splice(0, head);
      this.lentEnd.splice(0, head);
      head = 0;
    }
    this.lentHead = head;
    if (upTo !== null) {
      Atomics.store(this.ctrl, C_RELEASED, upTo);
      this.wakeWorker();
    }
  }

  /** Back to the first packet (replaying the file); ids keep counting. Call after the pass has ended. */
  rewind(): void {
    if (!this.passEnded && this.pass !== 0) throw new Error(`${this.name}: rewind before the end of the pass`);
    this.passEnded = false;
    if (this.pass !== 0) this.command(++this.pass);
  }

  /** Stop the reader thread (it closes the file); resolves once it has exited. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // Referenced until it has exited, so that a caller awaiting this is kept alive.
      this.worker.ref();
      this.command(-1);
    }
    return this.exited;
  }

  private command(cmd: number): void {
    Atomics.store(this.ctrl, C_CMD, cmd);
    Atomics.notify(this.ctrl, C_CMD);
    Atomics.add(this.ctrl, C_WAKE, 1);
    Atomics.notify(this.ctrl, C_WAKE);
  }

  private wakeWorker(): void {
    // Dekker with the worker's STALLED flag (both sequentially consistent): either it sees the
    // room just made, or this sees it stalled and wakes it.
    const ctrl = this.ctrl;
    if (Atomics.load(ctrl, C_WORKER_STALLED) === 0) return;
    // Woken only once it has what it asked for (a quarter of the ring free; read-ring.ts).
    if (((Atomics.load(ctrl, C_CONSUMED) - Atomics.load(ctrl, C_WAKE_CONSUMED)) | 0) < 0) return;
    if (((Atomics.load(ctrl, C_RELEASED) - Atomics.load(ctrl, C_WAKE_RELEASED)) | 0) < 0) return;
    Atomics.add(ctrl, C_WAKE, 1);
    Atomics.notify(ctrl, C_WAKE);
  }

  /**
   * The batch of the next `n` records. One loop over the record ring with the index masked,
   * not bulk copies of each column in one or two runs: the second run (the ring wrapping inside
   * a batch) first came some 30 batches in and deoptimized this function, compiled again
   * (tens to hundreds of ms on a loaded machine, in a run of under a second); six loads and
   * stores a packet cost a few ms over a 680,000-packet file, on a thread that waits anyway.
   */
  private build(seq: number, n: number): PacketBatch {
    const batch = this.newBatch(seq, n);
    const c = this.cols;
    const mask = this.capacity - 1;
    const from = this.consumed;
    const { id, offset, base, length, wireLength, tsSec, tsNsec } = batch;
    const cOffset = c.offset;
    const cBase = c.base;
    const cLength = c.length;
    const cWire = c.wire;
    const cSec = c.tsSec;
    const cNsec = c.tsNsec;
    let next = this.nextId;
    for (let i = 0; i < n; i++) {
      const e = (from + i) & mask;
      id[i] = next++;
      offset[i] = cOffset[e];
      base[i] = cBase[e];
      length[i] = cLength[e];
      wireLength[i] = cWire[e];
      tsSec[i] = cSec[e];
      tsNsec[i] = cNsec[e];
    }
    this.nextId = next;
    batch.count = n;
    this.lentEnd.push(c.endMono[(from + n - 1) & mask]);
    this.consumed = (from + n) | 0;
    Atomics.store(this.ctrl, C_CONSUMED, this.consumed);
    this.wakeWorker();
    return batch;
  }

  /** A batch object for `n` packets: a released one when there is one big enough, else new. */
  private newBatch(seq: number, n: number): PacketBatch {
    const batch = this.pool.take(seq, n, this.arena, this.linkType);
    this.lent.push(batch);
    return batch;
  }

  /** The worker has published the pass's end and every record before it is out: report how it ended. */
  private endPass(): null {
    this.passEnded = true;
    const ctrl = this.ctrl;
    const kind = ctrl[C_END_KIND];
    const a = ctrl[C_END_A] >>> 0;
    const b = ctrl[C_END_B];
    if (kind === END_CLEAN) return null;
    if (kind === END_IO_ERROR) {
      const text = new TextDecoder().decode(this.message.slice(0, ctrl[C_MESSAGE_LENGTH]));
      throw new PcapFormatError(this.name, `cannot read: ${text}`);
    }
    const reason =
      kind === END_TRUNCATED_HEADER
        ? `truncated record header (${a} of 16 bytes)`
        : kind === END_ABSURD_LENGTH
          ? `absurd incl_len ${a} (more than ${MAX_PACKET})`
          : kind === END_TRUNCATED_RECORD
            ? `truncated record: incl_len ${a} but only ${b} bytes left`
            : `unknown end of pass ${kind}`;
    const bad: BadRecord = { index: this.nextId, fileOffset: this.endOffset[0], reason };
    this.badRecordCount++;
    if (this.badRecords.length < this.maxBad) this.badRecords.push(bad);
    this.onBad?.(bad);
    return null;
  }
}
