/**
 * A window of a capture file held in memory, read in large chunks: parsers walk records with a
 * DataView over `buf` and ask for more with `fill` only when a record crosses the window's end.
 * Files up to CHUNK_BYTES are read whole once; rewinding (FromDump REPEAT) replays them from a copy
 * kept in memory (larger files are read again).
 * Gzip-compressed captures (Click's FromDump and tshark read them too) are inflated as a stream
 * into the same bounded windows (GzipInflater): memory does not depend on the inflated size. A
 * damaged gzip stream ends the window early with `streamError` set (every byte before the
 * damage is delivered); the reader reports it as a bad record.
 *
 * A window handed out is never written again by the window itself: `fill` and `rewind` move to
 * a fresh buffer. That is what lets PcapReader give out batches that point straight into the
 * window (zero copy) while elements edit packets in place.
 *
 * With read-ahead on, the next chunk is read asynchronously (libuv's I/O thread, so the copy
 * out of the page cache overlaps parsing) into a buffer with room in front for the current
 * window's unread tail; `fill` switches to it when it is complete, else reads synchronously.
 */
import fs from 'node:fs';
import { PcapFormatError } from './pcap-errors.js';
import { GzipInflater } from './gzip-inflater.js';

/**
 * Plain files up to this size are read whole into one window (and replayed from memory, see
 * replayFromMemory); gzip input is inflated in windows of this size.
 */
export const CHUNK_BYTES = 4 << 20;

/**
 * Window of a plain file larger than CHUNK_BYTES. read(2) copies out of the page cache into the
 * window, and the window alternates with the one before it (still lent to the last batch): 1 MiB
 * windows keep both in the core's cache, where 4 MiB ones (8 MiB of destination) made the copy
 * write to memory. FromDump -> Discard over a 520 MiB capture, PcapReader alone, CPU time
 * medians of 9 interleaved runs on this machine: 140 ms with 4 MiB windows, 80-86 ms with 1 MiB,
 * 47 ms for a plain read loop.
 */
export const WINDOW_BYTES = 1 << 20;

/**
 * Synchronous reads append this much at a time to the window, as the parser reaches the end
 * of what is in: the record headers it then walks were just written by this core's copy out of
 * the page cache and are still in its cache. Walking a whole 4 MiB chunk after reading it (or
 * after another thread read it) misses the cache on nearly every record header, one dependent
 * miss after another; measured here that cost more than the read itself.
 */
export const PIECE_BYTES = 256 << 10;

/** Room in front of a read-ahead buffer for the previous window's unread tail (a record cut by the window's end). */
const TAIL_ROOM = 1 << 16;

/** The next chunk of the file, being read on libuv's I/O thread while the current one is parsed. */
interface ReadAhead {
  buf: Uint8Array;
  filePos: number;
  bytes: number;
  done: boolean;
  failed: boolean;
  /** Superseded before it finished: its buffer is recycled when the read completes. */
  stale: boolean;
  finished: Promise<void>;
}

export class FileWindow {
  /** Bytes `[0, len)` are valid; `buf[0]` is byte `start` of the file. */
  buf: Uint8Array;
  view: DataView;
  len = 0;
  start = 0;
  /** True when `len` reaches the end of the file: a record crossing it is truncated. */
  eof = false;
  readonly name: string;
  private fd: number | null;
  private readPos = 0;
  /** For windows over caller-owned bytes: the untouched original, copied again on rewind. */
  private original: Uint8Array | null = null;
  /** Buffers handed back by the reader once no batch refers to them (reused: no fresh pages to fault in). */
  private readonly spare: Uint8Array[] = [];
  private fileSize = 0;
  private chunkBytes = CHUNK_BYTES;
  /** How much one synchronous read appends (the whole window for gzip and with read-ahead). */
  private pieceBytes = CHUNK_BYTES;
  private readAhead = false;
  private ahead: ReadAhead | null = null;
  /** The whole file as read at the first rewind, when it fits in one window (see replayFromMemory). */
  private replay: Uint8Array | null = null;
  /** Set for a gzip file (or gzip bytes): the window is filled from this instead of read(2). */
  private gz: GzipInflater | null = null;

  private constructor(name: string, buf: Uint8Array, fd: number | null) {
    this.name = name;
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.fd = fd;
  }

  /** A window over bytes already in memory (tests, generated captures); gzip bytes are inflated as a stream. */
  static fromBytes(bytes: Uint8Array, name: string, chunkBytes: number = CHUNK_BYTES): FileWindow {
    if (isGzip(bytes)) {
      const readAt = (buf: Uint8Array, off: number, len: number, pos: number): number => {
        const n = Math.max(0, Math.min(len, bytes.length - pos));
        buf.set(bytes.subarray(pos, pos + n), off);
        return n;
      };
      return FileWindow.inflating(name, readAt, null, chunkBytes);
    }
    // Batches may point into the window and be edited in place: never into the caller's bytes.
    const w = new FileWindow(name, bytes.slice(), null);
    w.original = bytes;
    w.len = bytes.length;
    w.eof = true;
    return w;
  }

  /** A window filled by streaming gunzip from `readAt` (a file descriptor `fd`, or bytes in memory). */
  private static inflating(name: string, readAt: (buf: Uint8Array, off: number, len: number, pos: number) => number, fd: number | null, chunkBytes: number): FileWindow {
    const w = new FileWindow(name, new Uint8Array(Math.max(64, chunkBytes)), fd);
    w.gz = new GzipInflater(readAt);
    // The inflated size is unknown until the end: every window is a whole chunk.
    w.fileSize = Number.MAX_SAFE_INTEGER;
    w.chunkBytes = Math.max(64, chunkBytes);
    w.readMore();
    return w;
  }

  /** True for gzip input (inflated as a stream). */
  get compressed(): boolean {
    return this.gz !== null;
  }

  /** Why a gzip stream ended early (compressed byte offset and reason), or null. */
  get streamError(): string | null {
    return this.gz?.error ?? null;
  }

  /**
   * Open `path` (shown as `name` in errors); gzip files are inflated as a stream. Without
   * `chunkBytes`, a plain file up to CHUNK_BYTES is read whole and a larger one in WINDOW_BYTES windows.
   */
  static open(path: string, name: string = path, chunkBytes?: number, readAhead = false, pieceBytes: number = PIECE_BYTES): FileWindow {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new PcapFormatError(name, `cannot open: ${(e as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      const head = new Uint8Array(2);
      const got = fs.readSync(fd, head, 0, 2, 0);
      if (got === 2 && isGzip(head)) return FileWindow.inflating(name, (buf, off, len, pos) => fs.readSync(fd, buf, off, len, pos), fd, chunkBytes ?? CHUNK_BYTES);
      const chunk = chunkBytes ?? (size <= CHUNK_BYTES ? CHUNK_BYTES : WINDOW_BYTES);
      const w = new FileWindow(name, new Uint8Array(Math.max(64, Math.min(size, chunk))), fd);
      w.fileSize = size;
      w.chunkBytes = Math.max(64, chunk);
      w.readAhead = readAhead;
      // Read-ahead fetches whole chunks into the next buffer: the window itself is read whole.
      w.pieceBytes = readAhead ? w.chunkBytes : Math.max(64, Math.min(pieceBytes, w.chunkBytes));
      w.readMore(w.pieceBytes);
      w.startReadAhead();
      return w;
    } catch (e) {
      if (e instanceof PcapFormatError) throw e;
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      throw new PcapFormatError(name, `cannot read: ${(e as Error).message}`);
    }
  }

  /**
   * Make bytes `[pos, pos + need)` available if the file has them: moves the unread tail to the
   * front (growing the buffer for a record larger than it) and reads on. Returns where `pos` now is.
   */
  fill(pos: number, need: number): number {
    if (this.eof || (this.fd === null && this.gz === null)) return pos;
    // Room left in this buffer: append (bytes already handed out are not touched), positions stay.
    if (this.extendInPlace(pos + need)) return pos;
    if (this.eof) return pos;
    const keep = this.len - pos;
    const a = this.ahead;
    if (a !== null) {
      this.ahead = null;
      if (a.done && !a.failed && a.filePos === this.readPos && keep <= TAIL_ROOM && keep + a.bytes >= need) {
        a.buf.set(this.buf.subarray(pos, this.len), TAIL_ROOM - keep);
        this.setBuffer(a.buf.subarray(TAIL_ROOM - keep, TAIL_ROOM + a.bytes));
        this.start += pos;
        this.len = keep + a.bytes;
        this.readPos += a.bytes;
        this.eof = this.readPos >= this.fileSize;
        this.startReadAhead();
        return 0;
      }
      this.dropAhead(a);
    }
    // Never the buffer in use: batches handed out may still point into it.
    const next = this.takeBuffer(Math.max(need, this.chunkBytes));
    next.set(this.buf.subarray(pos, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.start += pos;
    this.len = keep;
    this.readMore(need);
    this.startReadAhead();
    return 0;
  }

  /**
   * Read on into the room after `len` in this same buffer until bytes `[0, upTo)` are in
   * (a plain file read synchronously only; batches point at bytes below `len`, which stay as
   * they are). False when the buffer has no room for them, the file ends first, or the window
   * is filled otherwise (gzip, read-ahead): then the parser ends its batch, or calls `fill`.
   */
  extendInPlace(upTo: number): boolean {
    if (upTo <= this.len) return true;
    if (this.eof || this.fd === null || this.gz !== null || this.readAhead || upTo > this.buf.length) return false;
    this.readMore(upTo);
    return this.len >= upTo;
  }

  /**
   * A promise that settles when the read-ahead chunk is in, or null when there is none pending:
   * a reader about to need the next chunk awaits it (the only point where the event loop must
   * run for the asynchronous read to complete).
   */
  readAheadPending(): Promise<void> | null {
    const a = this.ahead;
    return a !== null && !a.done ? a.finished : null;
  }

  private startReadAhead(): void {
    const fd = this.fd;
    if (!this.readAhead || fd === null || this.ahead !== null || this.eof || this.readPos >= this.fileSize) return;
    const want = Math.min(this.chunkBytes, this.fileSize - this.readPos);
    let settle: () => void = () => undefined;
    const a: ReadAhead = {
      buf: this.takeBuffer(TAIL_ROOM + this.chunkBytes),
      filePos: this.readPos,
      bytes: 0,
      done: false,
      failed: false,
      stale: false,
      finished: new Promise<void>((resolve) => (settle = resolve)),
    };
    fs.read(fd, a.buf, TAIL_ROOM, want, a.filePos, (err, n) => {
      a.done = true;
      a.failed = err !== null;
      a.bytes = n;
      if (a.stale) this.recycle(a.buf);
      settle();
    });
    this.ahead = a;
  }

  /** Forget a read-ahead that cannot be used; its buffer comes back once the read is over. */
  private dropAhead(a: ReadAhead): void {
    if (a.done) this.recycle(a.buf);
    else a.stale = true;
  }

  /** Back to the file's first byte. */
  rewind(): void {
    if (this.original !== null) {
      this.setBuffer(this.original.slice());
      return;
    }
    if (this.fd === null && this.gz === null) return;
    if (this.replayFromMemory()) return;
    if (this.ahead !== null) this.dropAhead(this.ahead);
    this.gz?.reset();
    this.ahead = null;
    this.freshPass();
    this.startReadAhead();
  }

  /**
   * A new pass in a buffer of its own, its first piece read: earlier passes' packets may be held
   * or edited in place, so their bytes are never overwritten.
   */
  private freshPass(): void {
    this.setBuffer(this.takeBuffer(Math.min(this.chunkBytes, Math.max(64, this.fileSize))));
    this.start = 0;
    this.len = 0;
    this.readPos = 0;
    this.eof = false;
    this.readMore(this.pieceBytes);
  }

  /**
   * A plain file that fits in one window is replayed (FromDump REPEAT) from a pristine copy read
   * once, at the first rewind, instead of read(2) again each pass: the profile of a 4,631-packet
   * capture replayed to 3 M packets spent 45% of its time in those reads (0.51 ms a pass in
   * 256 KiB pieces against 0.21 ms for one copy, measured here). The copy costs at most one
   * window (CHUNK_BYTES) of memory. The pass still gets a fresh buffer, since packets of earlier
   * passes may be held or edited in place, but it is filled from the copy piece by piece as the
   * parser reaches it (readMore), as a file is read: the bytes a batch points at were just
   * written by this core and are still in its cache, where copying the whole file up front
   * evicted the start of the pass before its first batch. A file that changes during the run
   * replays the bytes it had at the first rewind.
   */
  private replayFromMemory(): boolean {
    const fd = this.fd;
    if (fd === null || this.gz !== null || this.readAhead || this.fileSize > this.chunkBytes) return false;
    if (this.replay === null) {
      const copy = new Uint8Array(this.fileSize);
      let got = 0;
      for (let n = -1; got < copy.length && n !== 0; got += n) n = fs.readSync(fd, copy, got, copy.length - got, got);
      // Shorter than at open (truncated meanwhile) or longer (growing): read it as a file each pass.
      if (got !== copy.length || fs.readSync(fd, new Uint8Array(1), 0, 1, got) !== 0) return false;
      this.replay = copy;
    }
    this.freshPass();
    return true;
  }

  /** Give back a buffer this window handed out earlier, once nothing refers to its bytes. */
  recycle(buf: Uint8Array): void {
    // Windows may be views into a read-ahead buffer: what is reused is the whole allocation.
    if (buf.buffer === this.buf.buffer || (this.fd === null && this.gz === null) || this.spare.length >= 4) return;
    const whole = new Uint8Array(buf.buffer);
    if (!this.spare.some((b) => b.buffer === whole.buffer)) this.spare.push(whole);
  }

  private takeBuffer(size: number): Uint8Array {
    // The buffer given back last is the one most likely still in the cache: the read's copy
    // into it then writes lines the cache holds (rotating through every spare buffer doubled
    // the kernel's copy time here).
    let i = this.spare.length - 1;
    while (i >= 0 && this.spare[i].length !== size) i--;
    return i >= 0 ? this.spare.splice(i, 1)[0] : new Uint8Array(size);
  }

  private setBuffer(buf: Uint8Array): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  close(): void {
    this.gz?.close();
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  /**
   * Read on until `len` reaches `upTo` (rounded up to whole pieces, capped by the buffer) or the
   * file ends; gzip fills the whole buffer.
   */
  private readMore(upTo: number = this.buf.length): void {
    const gz = this.gz;
    if (gz !== null) {
      while (this.len < this.buf.length) {
        const n = gz.read(this.buf, this.len, this.buf.length - this.len);
        if (n === 0) {
          this.eof = true;
          return;
        }
        this.len += n;
        this.readPos += n;
      }
      return;
    }
    const replay = this.replay;
    if (replay !== null) {
      // Replaying from memory (see replayFromMemory): the same pieces, copied from the pristine bytes.
      const want = Math.min(upTo, this.buf.length);
      if (this.len < want) {
        const piece = Math.min(Math.max(this.pieceBytes, want - this.len), this.buf.length - this.len, replay.length - this.readPos);
        this.buf.set(replay.subarray(this.readPos, this.readPos + piece), this.len);
        this.len += piece;
        this.readPos += piece;
      }
      this.eof = this.readPos >= replay.length;
      return;
    }
    const fd = this.fd;
    if (fd === null) return;
    const want = Math.min(upTo, this.buf.length);
    while (this.len < want) {
      const piece = Math.min(Math.max(this.pieceBytes, want - this.len), this.buf.length - this.len);
      const n = fs.readSync(fd, this.buf, this.len, piece, this.readPos);
      if (n === 0) {
        this.eof = true;
        return;
      }
      this.len += n;
      this.readPos += n;
    }
    // At the file's size it may still go on (a growing file): peek so the end is known at once.
    if (this.readPos >= this.fileSize) {
      const probe = new Uint8Array(1);
      if (fs.readSync(fd, probe, 0, 1, this.readPos) === 0) this.eof = true;
    }
  }
}

/** gzip's two magic bytes. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
