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
import type { ClassicHeader } from './read-ring.js';

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
  const plan = threadPlan(path, opts);
  if (plan.header === null) return { reader: PcapReader.open(path, opts), threadless: plan.threadless };
  try {
    return { reader: startThread(path, plan.header, opts), threadless: null };
  } catch (e) {
    return { reader: PcapReader.open(path, opts), threadless: `no reader thread (${(e as Error).message}), reading on the main thread` };
  }
}

/**
 * The reader thread for `path` started now, where openCapture would start one; null where it
 * would not, or where anything fails (the file missing, a bad header, the thread not starting).
 * For a caller that knows early which file it will read (FromDump, while later elements load
 * their tables): the thread boots meanwhile. On null the caller calls openCapture when it would
 * have anyway, which reports any problem then, with the same message as ever. The worker does
 * not keep the process alive; whoever holds it closes it.
 */
export function startCaptureThread(path: string, opts: OpenCaptureOptions = {}): ThreadedPcapReader | null {
  if (opts.thread !== true) return null;
  try {
    const plan = threadPlan(path, opts);
    return plan.header === null ? null : startThread(path, plan.header, opts);
  } catch {
    return null;
  }
}

/** The checked classic header when the file goes to a thread; else null and, where the caller should hear of it, why. */
function threadPlan(path: string, opts: OpenCaptureOptions): { header: ClassicHeader | null; threadless: string | null } {
  // The header is read and checked here, with the same errors as without a thread.
  const probe = PcapReader.open(path, { ...opts, chunkBytes: 64, pieceBytes: 64, readAhead: false });
  const header = probe.classicHeader;
  const format = probe.format;
  probe.close();
  if (header === null) return { header: null, threadless: format === 'pcapng' ? 'pcapng is read on the main thread' : 'gzip input is read on the main thread' };
  if (fs.statSync(path).size <= (opts.threadMinBytes ?? CHUNK_BYTES)) return { header: null, threadless: null };
  return { header, threadless: null };
}

function startThread(path: string, header: ClassicHeader, opts: OpenCaptureOptions): ThreadedPcapReader {
  return ThreadedPcapReader.start(path, header, PCAP_FILE_HEADER_LENGTH, {
    name: opts.name ?? path,
    ringBytes: opts.ringBytes,
    recordCapacity: opts.recordCapacity,
    pieceBytes: opts.threadPieceBytes,
    maxBadRecords: opts.maxBadRecords,
    onBadRecord: opts.onBadRecord,
  });
}
