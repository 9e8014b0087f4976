/**
 * The memory a reader thread and the main thread share for one classic pcap file (see
 * threaded-pcap-reader.ts, read-worker-body.ts): SharedArrayBuffers, so neither side copies.
 *
 *   ring     the file's bytes, read in pieces. Records never wrap: a record cut by the ring's end
 *            is copied, record header included, to the ring's start. Batches point into it
 *            (zero-copy), each packet's headroom its own 16-byte record header, as in PcapReader.
 *   records  a ring of scanned records, one entry per packet, in the columns of a PacketBatch
 *            (offset, base, length, wire length, timestamp) plus where its bytes end in the ring
 *            (`endMono`), so the main thread builds a batch with bulk copies and frees ring bytes
 *            by releasing up to a record's end.
 *   ctrl     counters and flags (the C_* indices), read and written with Atomics only.
 *
 * Positions in the ring are "mono": bytes counted from the first read on, across laps (a lap's
 * unused end counts too), kept modulo 2^32 in int32 cells; only differences are compared, and
 * they stay below the ring's size.
 */

/** Record entries published by the worker (modulo 2^32). */
export const C_WRITTEN = 0;
/** Record entries the main thread has copied out (modulo 2^32). */
export const C_CONSUMED = 1;
/** Mono ring position below which no batch refers to the ring's bytes any more. */
export const C_RELEASED = 2;
/** Pass the main thread asks for: 0 none yet, 1 the first, ...; -1 stop (the worker closes the file and exits). */
export const C_CMD = 3;
/** Last pass whose end (end of file, a bad record or an I/O error) the worker has published. */
export const C_PASS_DONE = 4;
/** Bumped by the worker whenever it publishes something; the main thread waits on it. */
export const C_SIGNAL = 5;
/** Bumped by the main thread whenever it frees room or gives a command; the worker waits on it. */
export const C_WAKE = 6;
/** 1 while the worker waits for room (ring bytes or record entries): the main thread then wakes it. */
export const C_WORKER_STALLED = 7;
/** 1 while the main thread waits for records: the worker then notifies it. */
export const C_MAIN_WAITING = 8;
/** How the pass ended (END_*), and two numbers for the message. */
export const C_END_KIND = 9;
export const C_END_A = 10;
export const C_END_B = 11;
/** Bytes of the I/O error message in `message`. */
export const C_MESSAGE_LENGTH = 12;
/** The record count (modulo 2^32) at which the waiting main thread wants to be woken. */
export const C_MAIN_WANTS = 13;
/** 1 once the worker has started and opened the file. */
export const C_READY = 14;
/**
 * What a stalled worker waits for: C_CONSUMED and C_RELEASED at or past these (modulo 2^32).
 * It asks for a quarter of the ring free, not the least it can go on with, so the main thread
 * wakes it once every few batches, not after each (a wake-up costs the main thread ~10 µs on a
 * virtual machine, a quarter of a 256-packet batch's time in the router).
 */
export const C_WAKE_CONSUMED = 15;
export const C_WAKE_RELEASED = 16;
export const CTRL_CELLS = 20;

/** Pass ended at the end of the file, every record whole. */
export const END_CLEAN = 0;
/** The file ends inside a record header: A bytes of it. */
export const END_TRUNCATED_HEADER = 1;
/** A record claims A bytes, more than MAX_PACKET. */
export const END_ABSURD_LENGTH = 2;
/** The file ends inside a record: incl_len A, B bytes of it present. */
export const END_TRUNCATED_RECORD = 3;
/** Reading failed (the message is in `message`). */
export const END_IO_ERROR = 4;

/** The classic pcap header facts the worker needs (read and checked by PcapReader first). */
export interface ClassicHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  linkType: number;
  precision: number;
}

/** What the worker is started with (workerData): the shared buffers and the file's header facts. */
export interface ReadRingInit {
  path: string;
  ring: SharedArrayBuffer;
  /** Record columns: tsSec (float64) first, then offset, base, length, wire, tsNsec, endMono (int32). */
  records: SharedArrayBuffer;
  /** Record entries in `records` (a power of two). */
  recordCapacity: number;
  ctrl: SharedArrayBuffer;
  /** [0]: file offset of the bad record that ended the pass. */
  endOffset: SharedArrayBuffer;
  /** UTF-8 of an I/O error's message. */
  message: SharedArrayBuffer;
  /** Bytes one read(2) asks for. */
  pieceBytes: number;
  /** Where the first record starts (after the file header). */
  firstRecord: number;
  littleEndian: boolean;
  nanosecond: boolean;
  maxPacket: number;
}

export const MESSAGE_BYTES = 1024;

/** Typed views over the record columns (both sides build the same ones). */
export interface RecordColumns {
  tsSec: Float64Array;
  offset: Int32Array;
  base: Int32Array;
  length: Int32Array;
  wire: Int32Array;
  tsNsec: Int32Array;
  endMono: Int32Array;
}

export function recordColumns(records: SharedArrayBuffer, capacity: number): RecordColumns {
  const i32 = (k: number): Int32Array => new Int32Array(records, 8 * capacity + 4 * k * capacity, capacity);
  return { tsSec: new Float64Array(records, 0, capacity), offset: i32(0), base: i32(1), length: i32(2), wire: i32(3), tsNsec: i32(4), endMono: i32(5) };
}

export function recordBytes(capacity: number): number {
  return 8 * capacity + 6 * 4 * capacity;
}
