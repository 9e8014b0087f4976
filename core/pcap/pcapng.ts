/**
 * pcapng: a sequence of blocks (type, total length, body, total length again). Read here:
 * Section Header (byte order per section, resets interfaces), Interface Description (link
 * type, snaplen, if_tsresol, if_tsoffset), Enhanced Packet, Simple Packet and the obsolete
 * Packet block; every other block is skipped by its length.
 *
 * A block whose lengths disagree (or that is shorter than 12 bytes, unaligned, or larger than
 * MAX_BLOCK) is corrupt: it is reported once and the parser resyncs at the next 4-byte-aligned
 * position holding a plausible block (known type, sane length, matching trailing length). A
 * packet block naming an unknown interface or holding more bytes than it has is reported and
 * skipped. A block cut short by the end of the file is reported and ends the file.
 */
import { normalizeLinkType } from './link-types.js';
import { PcapFormatError } from './pcap-errors.js';
import type { FileWindow } from './file-window.js';
import { TimestampResolution } from './timestamp-resolution.js';
import { MAX_PACKET, type BadRecordSink, type RecordParser, type RecordScan } from './record-scan.js';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 1;
export const BLOCK_PB = 2;
export const BLOCK_SPB = 3;
export const BLOCK_NRB = 4;
export const BLOCK_ISB = 5;
export const BLOCK_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Blocks larger than this are taken for corruption (a real capture's blocks are far smaller). */
export const MAX_BLOCK = 16 << 20;

const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** Block types the resync accepts as a new start (others may be real but are too weak a sign). */
const KNOWN_BLOCKS = new Set([BLOCK_SHB, BLOCK_IDB, BLOCK_PB, BLOCK_SPB, BLOCK_NRB, BLOCK_ISB, BLOCK_EPB, 0x0a, 0x09, 0x0bad, 0x40000bad]);

export interface PcapngInterface {
  linkType: number;
  snaplen: number;
  resolution: TimestampResolution;
  /** if_tsoffset: seconds added to every timestamp of the interface. */
  tsOffset: number;
}

export function isPcapngMagic(view: DataView): boolean {
  return view.getUint32(0, true) === BLOCK_SHB;
}

export class PcapngParser implements RecordParser {
  readonly format = 'pcapng';
  readonly interfaces: PcapngInterface[] = [];
  /** Link type and timestamp digits of the first interface (known before any batch). */
  firstLinkType = -1;
  precision = 6;
  private le = true;
  private pos = 0;
  private done = false;

  constructor(
    private readonly win: FileWindow,
    private readonly bad: BadRecordSink,
  ) {
    const v = win.view;
    if (win.len < 28) throw new PcapFormatError(win.name, `truncated pcapng section header (${win.len} bytes)`);
    const bom = v.getUint32(8, true);
    if (bom !== BYTE_ORDER_MAGIC && bom !== 0x4d3c2b1a) throw new PcapFormatError(win.name, `corrupt pcapng section header (byte-order magic 0x${bom.toString(16).padStart(8, '0')})`);
    const le = bom === BYTE_ORDER_MAGIC;
    const major = v.getUint16(12, le);
    if (major !== 1) throw new PcapFormatError(win.name, `unsupported pcapng version ${major}.${v.getUint16(14, le)}`);
    const blen = v.getUint32(4, le);
    if (blen < 28 || blen % 4 !== 0) throw new PcapFormatError(win.name, `corrupt pcapng section header (block length ${blen})`);
    // Parse the first section's interfaces now so firstLinkType is known before any batch.
    this.peekFirstInterface();
  }

  rewind(): void {
    this.pos = 0;
    this.done = false;
    this.interfaces.length = 0;
  }

  scan(s: RecordScan, max: number): number {
    s.count = 0;
    if (this.done) return 0;
    const win = this.win;
    let pos = this.pos;
    let n = 0;
    let linkType = -1;
    let len = win.len;
    let view = win.view;
    let le = this.le;
    const ifaces = this.interfaces;
    while (n < max) {
      if (pos + 12 > len) {
        if (!win.eof) {
          // Mid-batch the window may only grow in place (the batch's packets are copied at its end, from this buffer).
          if (n > 0) {
            if (!win.extendInPlace(pos + 12)) break;
          } else pos = win.fill(pos, 12);
          len = win.len;
          view = win.view;
          continue;
        }
        if (pos < len) this.bad(win.start + pos, `truncated block header (${len - pos} bytes left)`, n);
        this.done = true;
        break;
      }
      const type = view.getUint32(pos, le);
      if (type === BLOCK_SHB) {
        // A new section may switch byte order and drops every interface: end the batch first.
        if (n > 0) break;
        const bom = view.getUint32(pos + 8, true);
        if (bom !== BYTE_ORDER_MAGIC && bom !== 0x4d3c2b1a) {
          pos = this.corrupt(pos, `section header with bad byte-order magic 0x${bom.toString(16)}`);
          len = win.len;
          view = win.view;
          continue;
        }
        le = bom === BYTE_ORDER_MAGIC;
        this.le = le;
      }
      const blen = view.getUint32(pos + 4, le);
      if (blen < 12 || (blen & 3) !== 0 || blen > MAX_BLOCK) {
        if (n > 0) break;
        pos = this.corrupt(pos, `block type 0x${type.toString(16)} with bad length ${blen}`);
        len = win.len;
        view = win.view;
        le = this.le;
        continue;
      }
      if (pos + blen > len) {
        if (!win.eof) {
          if (n > 0) {
            if (!win.extendInPlace(pos + blen)) break;
          } else pos = win.fill(pos, blen);
          len = win.len;
          view = win.view;
          continue;
        }
        this.bad(win.start + pos, `truncated block: type 0x${type.toString(16)} length ${blen} but only ${len - pos} bytes left`, n);
        this.done = true;
        break;
      }
      if (view.getUint32(pos + blen - 4, le) !== blen) {
        if (n > 0) break;
        pos = this.corrupt(pos, `block type 0x${type.toString(16)}: trailing length ${view.getUint32(pos + blen - 4, le)} differs from ${blen}`);
        len = win.len;
        view = win.view;
        le = this.le;
        continue;
      }
      if (type === BLOCK_EPB || type === BLOCK_PB || type === BLOCK_SPB) {
        let ifIndex: number;
        let cap: number;
        let wire: number;
        let dataPos: number;
        let hi = 0;
        let lo = 0;
        if (type === BLOCK_SPB) {
          if (blen < 16) {
            this.bad(win.start + pos, `simple packet block too short (${blen} bytes)`, n);
            pos += blen;
            continue;
          }
          ifIndex = 0;
          wire = view.getUint32(pos + 8, le);
          dataPos = pos + 12;
          cap = Math.min(wire, blen - 16);
        } else {
          if (blen < 32) {
            this.bad(win.start + pos, `packet block too short (${blen} bytes)`, n);
            pos += blen;
            continue;
          }
          ifIndex = type === BLOCK_EPB ? view.getUint32(pos + 8, le) : view.getUint16(pos + 8, le);
          hi = view.getUint32(pos + 12, le);
          lo = view.getUint32(pos + 16, le);
          cap = view.getUint32(pos + 20, le);
          wire = view.getUint32(pos + 24, le);
          dataPos = pos + 28;
          if (cap > blen - 32) {
            this.bad(win.start + pos, `packet block captured length ${cap} exceeds its block (${blen - 32} bytes of data)`, n);
            pos += blen;
            continue;
          }
        }
        if (ifIndex >= ifaces.length) {
          this.bad(win.start + pos, `packet names interface ${ifIndex} but the section has ${ifaces.length}`, n);
          pos += blen;
          continue;
        }
        const iface = ifaces[ifIndex];
        if (type === BLOCK_SPB && iface.snaplen !== 0 && cap > iface.snaplen) cap = iface.snaplen;
        if (cap > MAX_PACKET) {
          this.bad(win.start + pos, `absurd captured length ${cap} (more than ${MAX_PACKET})`, n);
          pos += blen;
          continue;
        }
        if (n > 0 && iface.linkType !== linkType) break;
        linkType = iface.linkType;
        s.src[n] = dataPos;
        s.capLen[n] = cap;
        s.wireLen[n] = wire > 0x7fffffff ? 0x7fffffff : wire;
        if (type === BLOCK_SPB) {
          s.tsSec[n] = 0;
          s.tsNsec[n] = 0;
        } else {
          const res = iface.resolution;
          s.tsSec[n] = res.seconds(hi, lo) + iface.tsOffset;
          s.tsNsec[n] = res.nsec;
        }
        n++;
      } else if (type === BLOCK_SHB) {
        ifaces.length = 0;
      } else if (type === BLOCK_IDB) {
        if (blen < 20) this.bad(win.start + pos, `interface block too short (${blen} bytes)`, n);
        else ifaces.push(this.parseInterface(view, pos, blen, le));
      }
      pos += blen;
    }
    this.pos = pos;
    s.count = n;
    s.linkType = linkType;
    return n;
  }

  private parseInterface(view: DataView, pos: number, blen: number, le: boolean): PcapngInterface {
    const linkType = normalizeLinkType(view.getUint16(pos + 8, le));
    const snaplen = view.getUint32(pos + 12, le);
    let tsresol = 6;
    let tsOffset = 0;
    let o = pos + 16;
    const end = pos + blen - 4;
    while (o + 4 <= end) {
      const code = view.getUint16(o, le);
      const olen = view.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT || o + 4 + olen > end) break;
      if (code === OPT_IF_TSRESOL && olen >= 1) tsresol = view.getUint8(o + 4);
      else if (code === OPT_IF_TSOFFSET && olen >= 8) tsOffset = Number(view.getBigInt64(o + 4, le));
      o += 4 + ((olen + 3) & ~3);
    }
    const exp = tsresol & 0x7f;
    // Resolutions beyond 2^-63 or 10^-18 are not real clocks: treat as corrupt, keep microseconds.
    if ((tsresol & 0x80 && exp > 63) || (!(tsresol & 0x80) && exp > 18)) tsresol = 6;
    return { linkType, snaplen, resolution: new TimestampResolution(tsresol), tsOffset };
  }

  /** Report a corrupt block at `pos` and find the next plausible block; returns its position. */
  private corrupt(pos: number, reason: string): number {
    const win = this.win;
    this.bad(win.start + pos, `${reason}; resyncing`, 0);
    let p = pos + 4;
    for (;;) {
      if (p + 12 > win.len) {
        if (win.eof) {
          this.done = true;
          return win.len;
        }
        p = win.fill(p, 12);
        continue;
      }
      const v = win.view;
      const le = this.le;
      const t = v.getUint32(p, le);
      if (KNOWN_BLOCKS.has(t)) {
        let ble = le;
        if (t === BLOCK_SHB) {
          const bom = v.getUint32(p + 8, true);
          if (bom === BYTE_ORDER_MAGIC) ble = true;
          else if (bom === 0x4d3c2b1a) ble = false;
          else {
            p += 4;
            continue;
          }
        }
        const blen = v.getUint32(p + 4, ble);
        if (blen >= 12 && (blen & 3) === 0 && blen <= MAX_BLOCK) {
          if (p + blen > win.len && !win.eof) {
            p = win.fill(p, blen);
            continue;
          }
          if (p + blen <= win.len && v.getUint32(p + blen - 4, ble) === blen) return p;
        }
      }
      p += 4;
    }
  }

  /** Read the first section's first interface block (if it comes before any packet) for firstLinkType. */
  private peekFirstInterface(): void {
    const v = this.win.view;
    const le = v.getUint32(8, true) === BYTE_ORDER_MAGIC;
    let pos = v.getUint32(4, le);
    while (pos + 12 <= this.win.len) {
      const type = v.getUint32(pos, le);
      const blen = v.getUint32(pos + 4, le);
      if (blen < 12 || pos + blen > this.win.len) return;
      if (type === BLOCK_IDB && blen >= 20) {
        const iface = this.parseInterface(v, pos, blen, le);
        this.firstLinkType = iface.linkType;
        this.precision = iface.resolution.precision;
        return;
      }
      if (type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB || type === BLOCK_SHB) return;
      pos += blen;
    }
  }
}
