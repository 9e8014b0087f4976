/**
 * PcapReader: a classic pcap or pcapng file (optionally gzipped) as a stream of PacketBatches.
 *
 * A plain file is read whole when it fits in CHUNK_BYTES (4 MiB), else in WINDOW_BYTES (1 MiB)
 * windows (see file-window.ts); record headers are walked with a DataView into preallocated
 * columns (classic pcap: the batch's own).
 *
 * Classic pcap batches are zero-copy, as Click's FromDump maps the file: the batch's arena is
 * the file window itself, and each packet's headroom is its own 16-byte record header (already
 * parsed, so free to overwrite: enough for EtherEncap's 14). The window never rewrites a buffer
 * it has handed out (see FileWindow), so in-place edits are safe. pcapng packets are copied
 * into a fresh arena (carved from a 4 MiB slab) with one bulk copy and an in-place compaction,
 * each with DEFAULT_HEADROOM zeroed bytes in front. Either way `base[i]` is where a packet's
 * headroom starts and `id` counts packets from 0 across rewinds.
 *
 * A batch holds packets of one link type (`batch.linkType`); a pcapng switching interfaces
 * with different link types starts a new batch. Bad records are collected (the first
 * `maxBadRecords` in detail, all counted) and never thrown.
 */
import { DEFAULT_HEADROOM, PacketBatch } from '../packet-batch.js';
import { BatchPool } from './batch-pool.js';
import { FileWindow } from './file-window.js';
import { ClassicPcapParser, PCAP_RECORD_HEADER_LENGTH, isClassicMagic } from './classic-pcap.js';
import { PcapngParser, isPcapngMagic } from './pcapng.js';
import { PcapFormatError, type BadRecord } from './pcap-errors.js';
import { RecordScan, type RecordParser } from './record-scan.js';
import { ArenaAllocator } from './arena-allocator.js';
import type { ClassicHeader } from './read-ring.js';

export interface PcapReaderOptions {
  /** Name used in errors and bad-record reports (default: the path). */
  name?: string;
  /** How many bad records to keep in `badRecords` (all are counted). Default 1000. */
  maxBadRecords?: number;
  /** Window size (default: the whole file up to CHUNK_BYTES, else WINDOW_BYTES; gzip CHUNK_BYTES; tests use small ones). */
  chunkBytes?: number;
  /** How much one synchronous read appends to the window (default 256 KiB, PIECE_BYTES; see FileWindow). */
  pieceBytes?: number;
  /** Read the next chunk of a large file asynchronously while this one is parsed (see FileWindow). */
  readAhead?: boolean;
  /** Called once for every bad record as it is found. */
  onBadRecord?: (bad: BadRecord) => void;
}

const H = DEFAULT_HEADROOM;
/** Most packets one batch holds, whatever the caller asks (the scan columns are this long). */
export const MAX_BATCH = 1 << 20;

export class PcapReader {
  readonly name: string;
  readonly format: 'pcap' | 'pcapng';
  /** Digits after the second in the file's (first interface's) timestamps: 6 or 9 usually. */
  readonly precision: number;
  /** Link type of the classic header or of the first pcapng interface (-1 if none). */
  readonly linkType: number;
  /** Id the next packet gets: packets emitted so far, over every pass. */
  nextId = 0;
  badRecordCount = 0;
  readonly badRecords: BadRecord[] = [];
  private readonly win: FileWindow;
  private readonly parser: RecordParser;
  private readonly scanBuf = new RecordScan();
  /** Classic pcap's scan, whose columns are those of the batch being filled (see nextInPlace). */
  private readonly inPlaceScan = new RecordScan();
  private readonly arenas = new ArenaAllocator();
  private readonly maxBad: number;
  /**
   * Window buffers that zero-copy batches point into, oldest first, with the last sequence
   * number that used each (`lentBufLast`): the window only moves on to fresh buffers, so
   * batches use them in this order and `release` pops from the front (`lentBufHead`), O(1) a
   * batch where walking a Map of them every release was a visible share of batch-32 runs.
   */
  private readonly lentBufs: Uint8Array[] = [];
  private readonly lentBufLast: number[] = [];
  private lentBufHead = 0;
  /**
   * Batches handed out, in order, until released; then kept in `pool` for reuse. A queue with
   * a moving head (`lentHead`), compacted now and then: shift() per batch cost ~0.3 us at batch 32.
   */
  private readonly lentBatches: PacketBatch[] = [];
  private lentHead = 0;
  private readonly pool = new BatchPool();
  private readonly onBad?: (bad: BadRecord) => void;
  private readonly sink: (fileOffset: number, reason: string, before: number) => void;
  /** This pass's gzip damage has been reported (at the end of the pass). */
  private streamErrorReported = false;

  private constructor(win: FileWindow, opts: PcapReaderOptions) {
    this.win = win;
    this.name = win.name;
    this.maxBad = opts.maxBadRecords ?? 1000;
    this.onBad = opts.onBadRecord;
    const sink = (fileOffset: number, reason: string, before: number): void => {
      const bad: BadRecord = { index: this.nextId + before, fileOffset, reason };
      this.badRecordCount++;
      if (this.badRecords.length < this.maxBad) this.badRecords.push(bad);
      this.onBad?.(bad);
    };
    this.sink = sink;
    if (win.len < 4 && win.streamError !== null) throw new PcapFormatError(win.name, win.streamError);
    if (win.len < 4) {
      throw new PcapFormatError(win.name, win.len === 0 ? 'empty file, not a pcap or pcapng file' : `not a pcap or pcapng file (only ${win.len} bytes)`);
    }
    if (isClassicMagic(win.view)) this.parser = PcapReader.headerOrStreamError(win, () => new ClassicPcapParser(win, sink));
    else if (isPcapngMagic(win.view)) this.parser = PcapReader.headerOrStreamError(win, () => new PcapngParser(win, sink));
    else {
      const magic = win.view.getUint32(0, false).toString(16).padStart(8, '0');
      throw new PcapFormatError(win.name, `not a pcap or pcapng file (magic 0x${magic})`);
    }
    this.format = this.parser.format;
    this.precision = this.parser.precision;
    this.linkType = this.parser.firstLinkType;
  }

  /** A header cut short by a damaged gzip stream is reported as the gzip damage it is. */
  private static headerOrStreamError(win: FileWindow, make: () => RecordParser): RecordParser {
    try {
      return make();
    } catch (e) {
      if (e instanceof PcapFormatError && win.streamError !== null) throw new PcapFormatError(win.name, `${e.message.slice(win.name.length + 2)}: ${win.streamError}`);
      throw e;
    }
  }

  /** Open a capture file; throws PcapFormatError naming the file for a missing or bad header. */
  static open(path: string, opts: PcapReaderOptions = {}): PcapReader {
    const win = FileWindow.open(path, opts.name ?? path, opts.chunkBytes, opts.readAhead ?? false, opts.pieceBytes);
    try {
      return new PcapReader(win, opts);
    } catch (e) {
      win.close();
      throw e;
    }
  }

  /** A reader over bytes in memory (tests, generated captures). */
  static fromBytes(bytes: Uint8Array, name: string, opts: PcapReaderOptions = {}): PcapReader {
    return new PcapReader(FileWindow.fromBytes(bytes, name, opts.chunkBytes), opts);
  }

  /** The next batch of at most `maxPackets` (capped at MAX_BATCH) packets of one link type, or null at the end. */
  nextBatch(seq: number, maxPackets: number): PacketBatch | null {
    const max = Math.min(MAX_BATCH, Math.max(1, Math.floor(maxPackets)));
    if (this.parser.format === 'pcap') return this.nextInPlace(seq, max);
    const s = this.scanBuf;
    s.reserve(max);
    const n = this.parser.scan(s, max);
    if (n === 0) {
      this.reportStreamError();
      return null;
    }
    return this.build(seq, s, n);
  }

  /**
   * Every batch up to sequence `seq` is finished (nothing refers to its bytes any more): window
   * buffers used only by those batches are reused instead of allocating fresh ones.
   */
  release(seq: number): void {
    const lent = this.lentBatches;
    let head = this.lentHead;
    while (head < lent.length && lent[head].seq <= seq) {
      this.pool.give(lent[head]);
      head++;
    }
    this.compactLent(head);
    const bufs = this.lentBufs;
    const last = this.lentBufLast;
    let b = this.lentBufHead;
    // The window's current buffer is never reused: the parser reads on in it.
    while (b < bufs.length && last[b] <= seq && bufs[b] !== this.win.buf) {
      this.win.recycle(bufs[b]);
      b++;
    }
    if (b === bufs.length) {
      bufs.length = 0;
      last.length = 0;
      b = 0;
    } else if (b > 64) {
      bufs.splice(0, b);
      last.splice(0, b);
      b = 0;
    }
    this.lentBufHead = b;
  }

  /** Drop the queue's first `head` entries, copying the rest down only once they are most of it. */
  private compactLent(head: number): void {
    const lent = this.lentBatches;
    if (head === lent.length) {
      lent.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > lent.length) {
      lent.copyWithin(0, head);
      lent.length -= head;
      head = 0;
    }
    this.lentHead = head;
  }

  /**
   * The classic pcap header's facts, for a reader thread to read on from the first record
   * (ThreadedPcapReader); null for pcapng and for gzip input, which only this reader reads.
   */
  get classicHeader(): ClassicHeader | null {
    const p = this.parser;
    if (!(p instanceof ClassicPcapParser) || this.win.compressed) return null;
    return { littleEndian: p.littleEndian, nanosecond: p.precision === 9, linkType: p.firstLinkType, precision: p.precision };
  }

  /** Settles when the file's next chunk, being read ahead, is in; null when none is pending. */
  readAheadPending(): Promise<void> | null {
    return this.win.readAheadPending();
  }

  /**
   * A damaged gzip stream is lost data, whether or not it cut a record (which the parser
   * reports as truncated): one bad record at the end of the pass, naming the compressed offset.
   */
  private reportStreamError(): void {
    const gz = this.win.streamError;
    if (gz === null || this.streamErrorReported) return;
    this.streamErrorReported = true;
    this.sink(this.win.start + this.win.len, gz, 0);
  }

  /** Back to the first packet (for replaying the file); ids keep counting. */
  rewind(): void {
    this.streamErrorReported = false;
    this.win.rewind();
    this.parser.rewind();
  }

  close(): void {
    this.win.close();
  }

  /** A batch object for `n` packets: a released one when there is one big enough (no allocation), else new. */
  private newBatch(seq: number, n: number, data: Uint8Array, linkType: number): PacketBatch {
    const batch = this.pool.take(seq, n, data, linkType);
    this.track(batch);
    return batch;
  }

  /** Keep a batch handed out until it is released, then reuse it. */
  private track(batch: PacketBatch): void {
    // Only batches the scheduler will release are worth tracking (others are never reused).
    this.lentBatches.push(batch);
    if (this.lentBatches.length - this.lentHead > 4096) this.compactLent(this.lentHead + 1);
  }

  /**
   * A batch whose packets stay where they are in the window (classic pcap). The parser scans
   * straight into the batch's own columns (its RecordScan is pointed at them): no second copy
   * of five columns per packet, which was a fifth of this reader's time outside read(2).
   */
  private nextInPlace(seq: number, max: number): PacketBatch | null {
    const batch = this.pool.take(seq, max, this.win.buf, this.parser.firstLinkType);
    const s = this.inPlaceScan;
    s.capacity = batch.capacity;
    s.src = batch.offset;
    s.capLen = batch.length;
    s.wireLen = batch.wireLength;
    s.tsSec = batch.tsSec;
    s.tsNsec = batch.tsNsec;
    const n = this.parser.scan(s, max);
    if (n === 0) {
      this.pool.give(batch);
      this.reportStreamError();
      return null;
    }
    // A scan refills the window only before its first packet: every packet is in this buffer.
    const data = this.win.buf;
    batch.data = data;
    batch.linkType = s.linkType;
    this.track(batch);
    this.lendBuffer(data, seq);
    const { id, offset, base } = batch;
    let nextId = this.nextId;
    // A local: an imported binding is loaded on every use inside the loop.
    const header = PCAP_RECORD_HEADER_LENGTH;
    for (let i = 0; i < n; i++) {
      id[i] = nextId++;
      base[i] = offset[i] - header;
    }
    batch.count = n;
    this.nextId = nextId;
    return batch;
  }

  /** Batch `seq` points into window buffer `data` (see lentBufs). */
  private lendBuffer(data: Uint8Array, seq: number): void {
    const bufs = this.lentBufs;
    const tail = bufs.length - 1;
    if (tail >= this.lentBufHead && bufs[tail] === data) this.lentBufLast[tail] = seq;
    else {
      bufs.push(data);
      this.lentBufLast.push(seq);
    }
  }

  private build(seq: number, s: RecordScan, n: number): PacketBatch {
    const src = s.src;
    const cap = s.capLen;
    const cs = src[0];
    const ce = src[n - 1] + cap[n - 1];
    // Packet i lands at H*(i+1) + (bytes of packets before it). Copying the file span at `shift`
    // puts every packet at or after its place, so one forward pass of memmoves compacts them.
    let sum = 0;
    let shift = 0;
    for (let i = 0; i < n; i++) {
      const d = H * (i + 1) + sum - (src[i] - cs);
      if (d > shift) shift = d;
      sum += cap[i];
    }
    const used = H * n + sum;
    const size = Math.max(used, shift + (ce - cs));
    // Uninitialized memory is fine: every byte of [0, used) is written below (headroom zeroed).
    const arena = this.arenas.take(size);
    arena.set(this.win.buf.subarray(cs, ce), shift);
    const batch = this.newBatch(seq, n, size === used ? arena : arena.subarray(0, used), s.linkType);
    const id = batch.id;
    const offset = batch.offset;
    const length = batch.length;
    const base = batch.base;
    const wire = batch.wireLength;
    const tsSec = batch.tsSec;
    const tsNsec = batch.tsNsec;
    const sWire = s.wireLen;
    const sSec = s.tsSec;
    const sNsec = s.tsNsec;
    let t = H;
    let nextId = this.nextId;
    for (let i = 0; i < n; i++) {
      const from = shift + src[i] - cs;
      const c = cap[i];
      if (from !== t) arena.copyWithin(t, from, from + c);
      for (let k = t - H; k < t; k++) arena[k] = 0;
      id[i] = nextId++;
      base[i] = t - H;
      offset[i] = t;
      length[i] = c;
      wire[i] = sWire[i];
      tsSec[i] = sSec[i];
      tsNsec[i] = sNsec[i];
      t += c + H;
    }
    batch.count = n;
    this.nextId = nextId;
    return batch;
  }
}
