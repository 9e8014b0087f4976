/**
 * Open a capture for reading, on a reader thread where one helps: a classic pcap file larger
 * than one window goes to ThreadedPcapReader (reads and record scans overlap the pipeline); gzip
 * input, pcapng and small files are read by PcapReader on the calling thread. When a thread was
 * asked for and is not used for a reason the caller should hear of (format, a failure to start
 * it), `threadless` says why, for the caller to log.
 */
import fs from 'node:fs';
import { PcapReader, type PcapReaderOptions } from './pcap-reader.js';
import { ThreadedPcapReader } from './threaded-pcap-reader.js';
import { CHUNK_BYTES } from './file-window.js';
import { PCAP_FILE_HEADER_LENGTH } from './classic-pcap.js';

export type CaptureReader = PcapReader | ThreadedPcapReader;

export interface OpenCaptureOptions extends PcapReaderOptions {
  /** Read on a worker thread where the file allows it. */
  thread?: boolean;
  /** Files up to this size are read whole at once on the calling thread (default CHUNK_BYTES). */
  threadMinBytes?: number;
  /** ThreadedPcapReader sizes (tests use small ones to wrap the rings often). */
  ringBytes?: number;
  recordCapacity?: number;
  threadPieceBytes?: number;
}

export interface OpenedCapture {
  reader: CaptureReader;
  /** Why a thread that was asked for is not used (null when it is, or was not asked for, or the file is small). */
  threadless: string | null;
}

export function openCapture(path: string, opts: OpenCaptureOptions = {}): OpenedCapture {
  if (opts.thread !== true) return { reader: PcapReader.open(path, opts), threadless: null };
  // The header is read and checked here, with the same errors as without a thread.
  const probe = PcapReader.open(path, { ...opts, chunkBytes: 64, pieceBytes: 64, readAhead: false });
  const header = probe.classicHeader;
  const format = probe.format;
  probe.close();
  const name = opts.name ?? path;
  if (header === null) return { reader: PcapReader.open(path, opts), threadless: format === 'pcapng' ? 'pcapng is read on the main thread' : 'gzip input is read on the main thread' };
  if (fs.statSync(path).size <= (opts.threadMinBytes ?? CHUNK_BYTES)) return { reader: PcapReader.open(path, opts), threadless: null };
  try {
    const reader = ThreadedPcapReader.start(path, header, PCAP_FILE_HEADER_LENGTH, {
      name,
      ringBytes: opts.ringBytes,
      recordCapacity: opts.recordCapacity,
      pieceBytes: opts.threadPieceBytes,
      maxBadRecords: opts.maxBadRecords,
      onBadRecord: opts.onBadRecord,
    });
    return { reader, threadless: null };
  } catch (e) {
    return { reader: PcapReader.open(path, opts), threadless: `no reader thread (${(e as Error).message}), reading on the main thread` };
  }
}
