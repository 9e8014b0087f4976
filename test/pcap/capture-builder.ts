/**
 * Builds classic pcap and pcapng files byte by byte for tests, independently of the writer
 * under test: both byte orders, several interfaces, every packet block kind, unknown blocks.
 */

export interface GenPacket {
  bytes: Uint8Array;
  tsSec: number;
  /** Fraction in the file's units (microseconds or nanoseconds). */
  tsFrac: number;
  wireLength?: number;
}

/** Deterministic pseudo-random packet bytes (xorshift), different for every `seed`. */
export function fakeBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

class Bytes {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  len = 0;
  constructor(public le: boolean) {}
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(v: number): this {
    this.grow(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.view.setUint16(this.len, v, this.le);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.view.setUint32(this.len, v >>> 0, this.le);
    this.len += 4;
    return this;
  }
  i64(v: bigint): this {
    this.grow(8);
    this.view.setBigInt64(this.len, v, this.le);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  pad4(): this {
    while (this.len % 4 !== 0) this.u8(0);
    return this;
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, this.le);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export interface ClassicOptions {
  littleEndian?: boolean;
  nano?: boolean;
  linkType?: number;
  snaplen?: number;
}

export function buildClassicPcap(opts: ClassicOptions, packets: readonly GenPacket[]): Uint8Array {
  const b = new Bytes(opts.littleEndian ?? true);
  b.u32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(opts.snaplen ?? 65535).u32(opts.linkType ?? 1);
  for (const p of packets) b.u32(p.tsSec).u32(p.tsFrac).u32(p.bytes.length).u32(p.wireLength ?? p.bytes.length).bytes(p.bytes);
  return b.result();
}

export type NgBlock =
  | { kind: 'shb'; littleEndian: boolean }
  | { kind: 'idb'; linkType: number; snaplen?: number; tsresol?: number; tsoffset?: bigint }
  | { kind: 'epb'; iface: number; ticks: bigint; bytes: Uint8Array; wireLength?: number; comment?: string }
  | { kind: 'pb'; iface: number; ticks: bigint; bytes: Uint8Array }
  | { kind: 'spb'; bytes: Uint8Array; wireLength?: number }
  | { kind: 'other'; type: number; body: Uint8Array };

/** A pcapng file; every block after a `shb` uses that section's byte order. */
export function buildPcapng(blocks: readonly NgBlock[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let le = true;
  for (const blk of blocks) {
    if (blk.kind === 'shb') le = blk.littleEndian;
    const b = new Bytes(le);
    const type = { shb: 0x0a0d0d0a, idb: 1, pb: 2, spb: 3, epb: 6 }[blk.kind as string] ?? (blk as { type: number }).type;
    b.u32(type).u32(0);
    switch (blk.kind) {
      case 'shb':
        b.u32(0x1a2b3c4d).u16(1).u16(0).i64(-1n);
        break;
      case 'idb':
        b.u16(blk.linkType).u16(0).u32(blk.snaplen ?? 0);
        if (blk.tsresol !== undefined) b.u16(9).u16(1).u8(blk.tsresol).pad4();
        if (blk.tsoffset !== undefined) b.u16(14).u16(8).i64(blk.tsoffset);
        if (blk.tsresol !== undefined || blk.tsoffset !== undefined) b.u16(0).u16(0);
        break;
      case 'epb':
        b.u32(blk.iface).u32(Number(blk.ticks >> 32n)).u32(Number(blk.ticks & 0xffffffffn)).u32(blk.bytes.length).u32(blk.wireLength ?? blk.bytes.length).bytes(blk.bytes).pad4();
        if (blk.comment !== undefined) {
          const c = new TextEncoder().encode(blk.comment);
          b.u16(1).u16(c.length).bytes(c).pad4().u16(0).u16(0);
        }
        break;
      case 'pb':
        b.u16(blk.iface).u16(0).u32(Number(blk.ticks >> 32n)).u32(Number(blk.ticks & 0xffffffffn)).u32(blk.bytes.length).u32(blk.bytes.length).bytes(blk.bytes).pad4();
        break;
      case 'spb':
        b.u32(blk.wireLength ?? blk.bytes.length).bytes(blk.bytes).pad4();
        break;
      case 'other':
        b.bytes(blk.body).pad4();
        break;
    }
    const total = b.len + 4;
    b.u32(total);
    b.setU32(4, total);
    parts.push(b.result());
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
