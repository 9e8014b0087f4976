/**
 * PcapWriter: classic pcap output (little-endian; microsecond timestamps by default, nanosecond
 * with `nano`), buffered so a batch of small packets costs one write, not one per packet.
 *
 * orig_len is `max(length, wireLength)`: the wire length recorded by the source, or the current
 * length if the packet grew. Classic pcap holds 32-bit seconds; later times wrap (mod 2^32).
 */
import fs from 'node:fs';
import type { PacketBatch } from '../packet-batch.js';
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from './classic-pcap.js';
import { MAX_PACKET } from './record-scan.js';

export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nano?: boolean;
  /** Link type written in the header; default: the first batch's (1, Ethernet, if none comes). */
  linkType?: number;
  /** Header snaplen and the most bytes written per packet (default 262144). */
  snaplen?: number;
  /** Buffer size before a write to the file (default 1 MiB). */
  bufferBytes?: number;
}

/** Where the bytes go: a file descriptor, or a growing array in memory (tests). */
interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

class FdSink implements ByteSink {
  constructor(private fd: number | null) {}
  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error('pcap writer: write after close');
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

class MemorySink implements ByteSink {
  readonly parts: Uint8Array[] = [];
  write(bytes: Uint8Array): void {
    this.parts.push(bytes.slice());
  }
  close(): void {}
  bytes(): Uint8Array {
    const total = this.parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export class PcapWriter {
  readonly nano: boolean;
  readonly snaplen: number;
  /** Link type of the file; -1 until the header is written. */
  linkType = -1;
  packets = 0;
  bytes = 0;
  private readonly sink: ByteSink;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private fill = 0;
  private closed = false;

  private constructor(sink: ByteSink, opts: PcapWriterOptions) {
    this.sink = sink;
    this.nano = opts.nano ?? false;
    this.snaplen = opts.snaplen ?? MAX_PACKET;
    this.buf = new Uint8Array(Math.max(64 * 1024, opts.bufferBytes ?? 1 << 20));
    this.view = new DataView(this.buf.buffer);
    if (opts.linkType !== undefined) this.writeHeader(opts.linkType);
  }

  /** Create (truncate) `path`; errors name the file. */
  static open(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    let fd: number;
    try {
      fd = fs.openSync(path, 'w');
    } catch (e) {
      throw new Error(`${path}: cannot create: ${(e as Error).message}`);
    }
    return new PcapWriter(new FdSink(fd), opts);
  }

  /** A writer into memory; `finish()` closes it and returns the file's bytes. */
  static inMemory(opts: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(new MemorySink(), opts);
  }

  /** Close an in-memory writer and return the bytes written. */
  finish(): Uint8Array {
    if (!(this.sink instanceof MemorySink)) throw new Error('pcap writer: finish() is for in-memory writers; use close()');
    this.close();
    return this.sink.bytes();
  }

  /** Write the file header now (normally done by the first batch). */
  writeHeader(linkType: number): void {
    if (this.linkType !== -1) return;
    this.linkType = linkType;
    this.reserve(24);
    const v = this.view;
    const p = this.fill;
    v.setUint32(p, this.nano ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, true);
    v.setUint16(p + 4, 2, true);
    v.setUint16(p + 6, 4, true);
    v.setInt32(p + 8, 0, true);
    v.setUint32(p + 12, 0, true);
    v.setUint32(p + 16, this.snaplen, true);
    v.setUint32(p + 20, linkType, true);
    this.fill += 24;
  }

  /**
   * Write every packet of `batch` (its current `offset/length` window and timestamps).
   * Returns false, writing nothing, when the batch's link type differs from the file's.
   */
  writeBatch(batch: PacketBatch): boolean {
    if (this.linkType === -1) this.writeHeader(batch.linkType);
    else if (batch.linkType !== this.linkType) return false;
    const data = batch.data;
    for (let i = 0; i < batch.count; i++) {
      this.writePacket(data, batch.offset[i], batch.length[i], batch.wireLength[i], batch.tsSec[i], batch.tsNsec[i]);
    }
    return true;
  }

  /** Write one packet: `data[offset, offset + length)`. */
  writePacket(data: Uint8Array, offset: number, length: number, wireLength: number, tsSec: number, tsNsec: number): void {
    if (this.closed) throw new Error('pcap writer: write after close');
    if (this.linkType === -1) this.writeHeader(1);
    const incl = Math.min(length, this.snaplen);
    const orig = Math.max(length, wireLength);
    this.reserve(16);
    const v = this.view;
    const p = this.fill;
    // Seconds wrap to 32 bits; a negative time (if_tsoffset) wraps the same way as in C.
    const sec = tsSec - Math.floor(tsSec / 4294967296) * 4294967296;
    v.setUint32(p, sec, true);
    v.setUint32(p + 4, this.nano ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(p + 8, incl, true);
    v.setUint32(p + 12, orig, true);
    this.fill += 16;
    if (incl > this.buf.length) {
      this.flush();
      this.sink.write(data.subarray(offset, offset + incl));
    } else {
      this.reserve(incl);
      this.buf.set(data.subarray(offset, offset + incl), this.fill);
      this.fill += incl;
    }
    this.packets++;
    this.bytes += incl;
  }

  /** Hand buffered bytes to the file. */
  flush(): void {
    if (this.fill > 0) {
      this.sink.write(this.buf.subarray(0, this.fill));
      this.fill = 0;
    }
  }

  /** Flush and close; a file that saw no packet still gets a header (Ethernet unless told). */
  close(): void {
    if (this.closed) return;
    if (this.linkType === -1) this.writeHeader(1);
    this.flush();
    this.closed = true;
    this.sink.close();
  }

  private reserve(n: number): void {
    if (this.fill + n > this.buf.length) this.flush();
  }
}
