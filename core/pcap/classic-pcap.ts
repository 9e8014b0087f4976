/**
 * Classic libpcap format: a 24-byte file header, then records of a 16-byte header
 * (ts_sec, ts_usec or ts_nsec, incl_len, orig_len) and incl_len bytes. Both byte orders,
 * microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magics.
 *
 * A record is bad when its header or bytes run past the end of the file or incl_len exceeds
 * 262144 (what libpcap and Wireshark reject). Classic pcap has no sync marker, so the reader
 * stops there; every packet before it has come out. incl_len above the header's snaplen is
 * accepted, as libpcap and Wireshark accept it.
 */
import { normalizeLinkType } from './link-types.js';
import { PcapFormatError } from './pcap-errors.js';
import type { FileWindow } from './file-window.js';
import { MAX_PACKET as MAX_PACKET_VALUE, type BadRecordSink, type RecordParser, type RecordScan } from './record-scan.js';

// A module-local copy for the record loop: V8 folds a module's own `const`, but loads an
// imported binding on every use (lookup-batch.ts, acl-match's scan).
const MAX_PACKET = 262144;
if (MAX_PACKET !== MAX_PACKET_VALUE) throw new Error('classic-pcap: MAX_PACKET out of step with record-scan.ts');

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

/** True when the first four bytes are a classic pcap magic in either byte order. */
export function isClassicMagic(view: DataView): boolean {
  const m = view.getUint32(0, true);
  const b = view.getUint32(0, false);
  return m === PCAP_MAGIC_USEC || m === PCAP_MAGIC_NSEC || b === PCAP_MAGIC_USEC || b === PCAP_MAGIC_NSEC;
}

export class ClassicPcapParser implements RecordParser {
  readonly format = 'pcap';
  readonly precision: number;
  readonly firstLinkType: number;
  readonly snaplen: number;
  readonly littleEndian: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  private readonly fracToNsec: number;
  private readonly fracPerSec: number;
  private pos = PCAP_FILE_HEADER_LENGTH;
  private done = false;

  constructor(
    private readonly win: FileWindow,
    private readonly bad: BadRecordSink,
  ) {
    if (win.len < PCAP_FILE_HEADER_LENGTH) throw new PcapFormatError(win.name, `truncated pcap file header (${win.len} of ${PCAP_FILE_HEADER_LENGTH} bytes)`);
    const v = win.view;
    const le = v.getUint32(0, true) === PCAP_MAGIC_USEC || v.getUint32(0, true) === PCAP_MAGIC_NSEC;
    const magic = v.getUint32(0, le);
    this.littleEndian = le;
    const nano = magic === PCAP_MAGIC_NSEC;
    this.precision = nano ? 9 : 6;
    this.fracToNsec = nano ? 1 : 1000;
    this.fracPerSec = nano ? 1e9 : 1e6;
    this.versionMajor = v.getUint16(4, le);
    this.versionMinor = v.getUint16(6, le);
    if (this.versionMajor !== 2) throw new PcapFormatError(win.name, `unsupported pcap version ${this.versionMajor}.${this.versionMinor}`);
    this.snaplen = v.getUint32(16, le);
    // The top bits of the link-type field carry FCS information (LT_LINKTYPE in libpcap).
    this.firstLinkType = normalizeLinkType(v.getUint32(20, le) & 0x03ffffff);
  }

  rewind(): void {
    this.pos = PCAP_FILE_HEADER_LENGTH;
    this.done = false;
  }

  scan(s: RecordScan, max: number): number {
    s.count = 0;
    s.linkType = this.firstLinkType;
    if (this.done) return 0;
    const win = this.win;
    const le = this.littleEndian;
    const fracToNsec = this.fracToNsec;
    let pos = this.pos;
    let n = 0;
    let len = win.len;
    let view = win.view;
    const src = s.src;
    const capLen = s.capLen;
    const wireLen = s.wireLen;
    const tsSec = s.tsSec;
    const tsNsec = s.tsNsec;
    while (n < max) {
      if (pos + PCAP_RECORD_HEADER_LENGTH > len) {
        if (!win.eof) {
          // Mid-batch the window may only grow in place (the batch points into this buffer).
          if (n > 0) {
            if (!win.extendInPlace(pos + PCAP_RECORD_HEADER_LENGTH)) break;
          } else pos = win.fill(pos, PCAP_RECORD_HEADER_LENGTH);
          len = win.len;
          view = win.view;
          continue;
        }
        if (pos < len) this.bad(win.start + pos, `truncated record header (${len - pos} of ${PCAP_RECORD_HEADER_LENGTH} bytes)`, n);
        this.done = true;
        break;
      }
      const incl = view.getUint32(pos + 8, le);
      if (incl > MAX_PACKET) {
        this.bad(win.start + pos, `absurd incl_len ${incl} (more than ${MAX_PACKET})`, n);
        this.done = true;
        break;
      }
      const end = pos + PCAP_RECORD_HEADER_LENGTH + incl;
      if (end > len) {
        if (!win.eof) {
          if (n > 0) {
            if (!win.extendInPlace(end)) break;
          } else pos = win.fill(pos, PCAP_RECORD_HEADER_LENGTH + incl);
          len = win.len;
          view = win.view;
          continue;
        }
        this.bad(win.start + pos, `truncated record: incl_len ${incl} but only ${len - pos - PCAP_RECORD_HEADER_LENGTH} bytes left`, n);
        this.done = true;
        break;
      }
      let sec = view.getUint32(pos, le);
      let frac = view.getUint32(pos + 4, le);
      if (frac >= this.fracPerSec) {
        // Out-of-range fraction (seen in hand-made files): carry whole seconds.
        const carry = Math.floor(frac / this.fracPerSec);
        sec += carry;
        frac -= carry * this.fracPerSec;
      }
      src[n] = pos + PCAP_RECORD_HEADER_LENGTH;
      capLen[n] = incl;
      const orig = view.getUint32(pos + 12, le);
      wireLen[n] = orig > 0x7fffffff ? 0x7fffffff : orig;
      tsSec[n] = sec;
      tsNsec[n] = frac * fracToNsec;
      n++;
      pos = end;
    }
    this.pos = pos;
    s.count = n;
    return n;
  }
}
