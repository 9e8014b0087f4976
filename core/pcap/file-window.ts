/**
 * A window of a capture file held in memory, read in large chunks: parsers walk records with a
 * DataView over `buf` and ask for more with `fill` only when a record crosses the window's end.
 * Files up to CHUNK_BYTES are read whole once; rewinding (FromDump REPEAT) re-reads them.
 * Gzip-compressed captures (Click's FromDump and tshark read them too) are inflated whole.
 *
 * A window handed out is never written again by the window itself: `fill` and `rewind` move to
 * a fresh buffer. That is what lets PcapReader give out batches that point straight into the
 * window (zero copy) while elements edit packets in place.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { PcapFormatError } from './pcap-errors.js';

export const CHUNK_BYTES = 32 << 20;

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

  private constructor(name: string, buf: Uint8Array, fd: number | null) {
    this.name = name;
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.fd = fd;
  }

  /** A window over bytes already in memory (tests, inflated gzip). */
  static fromBytes(bytes: Uint8Array, name: string): FileWindow {
    // Batches may point into the window and be edited in place: never into the caller's bytes.
    const w = new FileWindow(name, bytes.slice(), null);
    w.original = bytes;
    w.len = bytes.length;
    w.eof = true;
    return w;
  }

  /** Open `path` (shown as `name` in errors); gzip files are inflated into memory. */
  static open(path: string, name: string = path, chunkBytes: number = CHUNK_BYTES): FileWindow {
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
      if (got === 2 && head[0] === 0x1f && head[1] === 0x8b) {
        const raw = fs.readFileSync(fd);
        fs.closeSync(fd);
        let inflated: Buffer;
        try {
          inflated = zlib.gunzipSync(raw);
        } catch (e) {
          // A cut-short gzip still yields what it holds; the parser then reports the cut record.
          try {
            inflated = zlib.gunzipSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
          } catch {
            throw new PcapFormatError(name, `corrupt gzip data: ${(e as Error).message}`);
          }
        }
        return FileWindow.fromBytes(new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength), name);
      }
      const w = new FileWindow(name, new Uint8Array(Math.max(64, Math.min(size, chunkBytes))), fd);
      w.readMore();
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
    if (this.eof || this.fd === null) return pos;
    const keep = this.len - pos;
    // Never the buffer in use: batches handed out may still point into it.
    const next = this.takeBuffer(Math.max(need, this.buf.length));
    next.set(this.buf.subarray(pos, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.start += pos;
    this.len = keep;
    this.readMore();
    return 0;
  }

  /** Back to the file's first byte. */
  rewind(): void {
    if (this.original !== null) {
      this.setBuffer(this.original.slice());
      return;
    }
    if (this.fd === null) return;
    // Earlier passes' packets may have been edited in place: read the bytes again, afresh.
    this.setBuffer(this.takeBuffer(this.buf.length));
    this.start = 0;
    this.len = 0;
    this.readPos = 0;
    this.eof = false;
    this.readMore();
  }

  /** Give back a buffer this window handed out earlier, once nothing refers to its bytes. */
  recycle(buf: Uint8Array): void {
    if (buf !== this.buf && this.spare.length < 2 && this.fd !== null) this.spare.push(buf);
  }

  private takeBuffer(size: number): Uint8Array {
    const i = this.spare.findIndex((b) => b.length === size);
    return i >= 0 ? this.spare.splice(i, 1)[0] : new Uint8Array(size);
  }

  private setBuffer(buf: Uint8Array): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private readMore(): void {
    const fd = this.fd;
    if (fd === null) return;
    while (this.len < this.buf.length) {
      const n = fs.readSync(fd, this.buf, this.len, this.buf.length - this.len, this.readPos);
      if (n === 0) {
        this.eof = true;
        return;
      }
      this.len += n;
      this.readPos += n;
    }
    // A full buffer may still be the whole file: peek so a small file is known complete at once.
    const probe = new Uint8Array(1);
    if (fs.readSync(fd, probe, 0, 1, this.readPos) === 0) this.eof = true;
  }
}
