/**
 * The parsers' output for one batch: where each packet's bytes sit in the file window and its
 * record fields, in preallocated typed arrays (no object per packet). The reader turns a scan
 * into a PacketBatch with one bulk copy.
 */

export class RecordScan {
  capacity = 0;
  count = 0;
  /** Link type shared by every packet of the scan (a change of link type ends a scan). */
  linkType = 1;
  /** Position in the window of each packet's first byte. */
  src: Int32Array = new Int32Array(0);
  capLen: Int32Array = new Int32Array(0);
  wireLen: Int32Array = new Int32Array(0);
  tsSec: Float64Array = new Float64Array(0);
  tsNsec: Int32Array = new Int32Array(0);

  reserve(capacity: number): void {
    if (capacity <= this.capacity) return;
    this.capacity = capacity;
    this.src = new Int32Array(capacity);
    this.capLen = new Int32Array(capacity);
    this.wireLen = new Int32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Int32Array(capacity);
  }
}

/** Called by a parser for a corrupt or truncated record; the reader numbers and keeps it. */
/** `before`: packets of the current scan that precede the bad record. */
export type BadRecordSink = (fileOffset: number, reason: string, before: number) => void;

/** A capture format's record walker over a FileWindow. */
export interface RecordParser {
  readonly format: 'pcap' | 'pcapng';
  /** Timestamp resolution of the file header / first interface, in digits after the second. */
  readonly precision: number;
  /** Link type of the file header (classic) or of the first interface (pcapng); -1 if none yet. */
  readonly firstLinkType: number;
  /**
   * Scan up to `max` packets of one link type into `scan`, stopping early where the window
   * must be refilled. Returns the count; 0 means the end of the file (or of its good part).
   */
  scan(scan: RecordScan, max: number): number;
  /** Back to the first record (the window is rewound by the reader). */
  rewind(): void;
}

/** Largest packet a record may hold: libpcap's and Wireshark's MAXIMUM_SNAPLEN. */
export const MAX_PACKET = 262144;
