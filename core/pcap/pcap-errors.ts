/**
 * What can go wrong reading a capture. A bad file header is fatal and throws PcapFormatError
 * naming the file; a bad record never throws: the reader reports it as a BadRecord and stops
 * (classic pcap has no way to find the next record) or resyncs (pcapng blocks carry lengths).
 */

export class PcapFormatError extends Error {
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'PcapFormatError';
    this.file = file;
  }
}

export interface BadRecord {
  /** Global packet index the record would have had (the number of good packets before it). */
  index: number;
  /** Byte offset of the record (or block) in the (decompressed) file. */
  fileOffset: number;
  reason: string;
}

/** One line naming file, packet index, byte offset and reason. */
export function formatBadRecord(file: string, bad: BadRecord): string {
  return `${file}: bad record at packet ${bad.index} (byte ${bad.fileOffset}): ${bad.reason}`;
}
