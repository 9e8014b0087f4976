/**
 * FromDump(FILE [, keywords STOP, TIMING, END_AFTER, LIMIT, REPEAT, PREFETCH])
 *
 * Ports: no input, 1 output. Source.
 *
 * Reads packets from a capture file: classic pcap (microsecond or nanosecond, either byte
 * order), pcapng (several interfaces, link types and timestamp resolutions), or either of them
 * gzipped (inflated as a stream: memory does not depend on the inflated size; a damaged gzip
 * stream yields every packet before the damage, then one bad record naming the compressed
 * byte offset). FILE is resolved against the configuration's directory. Each packet gets
 * at least MIN_HEADROOM free bytes in front (zero-copy pcap: its record header), its capture timestamp (tsSec/tsNsec), its
 * wire length (orig_len), and a global packet index (`id`, from 0). A batch holds packets of
 * one link type (`batch.linkType`): a pcapng that switches link type starts a new batch.
 *
 * A bad file header is an error naming the file. A corrupt or truncated record never is: it is
 * counted in `bad_records`, logged once with its packet index (the first 20; later ones are
 * only counted), and reading stops there (classic pcap) or resyncs at the next good block
 * (pcapng). Every packet before it comes out.
 *
 * Keywords:
 *   FILE       capture file name
 *   STOP       boolean, accepted for Click compatibility: the run ends when every source is done
 *   TIMING     boolean, accepted and ignored (packets are emitted as fast as they are consumed)
 *   END_AFTER  packet count: stop after this many packets (unlike Click's END_AFTER, which is a
 *              time). LIMIT is the same. Default: no limit.
 *   REPEAT     integer >= 1: replay the file this many times (default 1), ids counting on, so a
 *              small capture makes a long run (the benchmark replays example.pcap to 1.5 M).
 *   PREFETCH   boolean, default true: a classic pcap file larger than 4 MiB is read on a reader
 *              thread, which reads the file into a shared ring and scans its records ahead of
 *              the pipeline (reads and scans overlap processing; batches still point into the
 *              read bytes, zero-copy). gzip input and pcapng are read on the main thread, with a
 *              log line saying so. false reads synchronously on the main thread, 256 KiB at a
 *              time as the parser reaches them.
 *
 * Handlers:
 *   count (read)        packets emitted
 *   bad_records (read)  corrupt or truncated records met (each pass counts its own)
 *   filename (read)     the resolved file name
 *   link_type (read)    link type of the file header / first interface (1 Ethernet, 101 raw IP, 113 SLL)
 */
import path from 'node:path';
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput, type SourceElement } from '../core/element.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, argLocation, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import { ConfigError } from '../core/config/source-location.js';
import { captureInputProblem } from '../core/pcap/capture-file-check.js';
import type { HandlerTable } from '../core/handlers.js';
import { openCapture, startCaptureThread, type CaptureReader } from '../core/pcap/open-capture.js';
import { ThreadedPcapReader } from '../core/pcap/threaded-pcap-reader.js';
import { formatBadRecord, type BadRecord } from '../core/pcap/pcap-errors.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface FromDumpConfig {
  FILE: string;
  STOP: boolean;
  TIMING: boolean;
  END_AFTER?: number;
  LIMIT?: number;
  REPEAT: number;
  PREFETCH: boolean;
}

/** Bad records logged line by line; later ones are only counted (and summarized at the end). */
export const MAX_BAD_RECORD_LOG_LINES = 20;

export class FromDump extends Element<FromDumpConfig> implements SourceElement {
  static readonly className = 'FromDump';
  static readonly isSource = true;
  static readonly ports = { inputs: '0', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'bad_records'], doc: 'packets read and bad records met' },
      { kind: 'settings', name: 'position', settings: ['filename'], doc: 'the open capture and the read position in it' },
    ],
  };
  static readonly manual = `FromDump(FILE [, keywords STOP, TIMING, END_AFTER, LIMIT, REPEAT, PREFETCH])

Ports: no input, 1 output. Source.

Reads packets from a capture file: classic pcap (microsecond or nanosecond, either byte
order), pcapng (several interfaces, link types and timestamp resolutions), or either of them
gzipped (inflated as a stream: memory does not depend on the inflated size; a damaged gzip
stream yields every packet before the damage, then one bad record naming the compressed
byte offset). FILE is resolved against the configuration's directory. Each packet gets
at least MIN_HEADROOM free bytes in front (zero-copy pcap: its record header), its capture timestamp (tsSec/tsNsec), its
wire length (orig_len), and a global packet index (\`id\`, from 0). A batch holds packets of
one link type (\`batch.linkType\`): a pcapng that switches link type starts a new batch.

A bad file header is an error naming the file. A corrupt or truncated record never is: it is
counted in \`bad_records\`, logged once with its packet index (the first 20; later ones are
only counted), and reading stops there (classic pcap) or resyncs at the next good block
(pcapng). Every packet before it comes out.

Keywords:
  FILE       capture file name
  STOP       boolean, accepted for Click compatibility: the run ends when every source is done
  TIMING     boolean, accepted and ignored (packets are emitted as fast as they are consumed)
  END_AFTER  packet count: stop after this many packets (unlike Click's END_AFTER, which is a
             time). LIMIT is the same. Default: no limit.
  REPEAT     integer >= 1: replay the file this many times (default 1), ids counting on, so a
             small capture makes a long run (the benchmark replays example.pcap to 1.5 M).
  PREFETCH   boolean, default true: a classic pcap file larger than 4 MiB is read on a reader
             thread, which reads the file into a shared ring and scans its records ahead of
             the pipeline (reads and scans overlap processing; batches still point into the
             read bytes, zero-copy). gzip input and pcapng are read on the main thread, with a
             log line saying so. false reads synchronously on the main thread, 256 KiB at a
             time as the parser reaches them.

Handlers:
  count (read)        packets emitted
  bad_records (read)  corrupt or truncated records met (each pass counts its own)
  filename (read)     the resolved file name
  link_type (read)    link type of the file header / first interface (1 Ethernet, 101 raw IP, 113 SLL)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<FromDumpConfig> = {
    positional: ['FILE'],
    keywords: ['FILE', 'STOP', 'TIMING', 'END_AFTER', 'LIMIT', 'REPEAT', 'PREFETCH'],
    schema: z
      .object({
        FILE: arg.string().min(1, 'a file name is required'),
        STOP: arg.bool().default(false),
        TIMING: arg.bool().default(false),
        END_AFTER: arg.int(0).optional(),
        LIMIT: arg.int(0).optional(),
        REPEAT: arg.int(1, 1_000_000_000).default(1),
        PREFETCH: arg.bool().default(true),
      })
      .refine((c) => c.END_AFTER === undefined || c.LIMIT === undefined || c.END_AFTER === c.LIMIT, {
        message: 'END_AFTER and LIMIT are the same setting; give one',
        path: ['LIMIT'],
      }),
  };

  /** `hetbox check`: FILE must be a readable capture file (see capture-file-check.ts), named at its place. */
  static checkEnvironment(config: FromDumpConfig, args: ConfigArgs, baseDir: string): void {
    const problem = captureInputProblem(path.resolve(baseDir, config.FILE));
    if (problem !== null) throw new ConfigError(argLocation(args, 'FILE', FromDump.args), `FromDump FILE: ${problem}`);
  }

  static parseConfig(args: ConfigArgs): FromDumpConfig {
    return parseArgs(args, FromDump.args);
  }

  private reader: CaptureReader | null = null;
  /**
   * The reader thread, started at construction: a thread takes tens of milliseconds to boot, and
   * elements constructed after this one (IPLookup loading a full table) keep the main thread busy
   * meanwhile. Taken over by `initialize`; closed by `cleanup` if never taken. Unreferenced, so a
   * router built and never run (`hetbox check`, a configuration error further on) does not keep
   * the process alive.
   */
  private early: ThreadedPcapReader | null;
  private emitted = 0;
  private pass = 0;
  private badLogged = 0;
  private finished = false;

  /** The capture file, resolved against the configuration's directory. */
  get filename(): string {
    return path.resolve(this.env.baseDir, this.config.FILE);
  }

  private get limit(): number {
    return this.config.END_AFTER ?? this.config.LIMIT ?? Infinity;
  }

  constructor(init: ElementInit<FromDumpConfig>) {
    super(init);
    // Any problem with the file (missing, bad header) gives null here and is reported by
    // openCapture in `initialize`, as without this early start.
    this.early = startCaptureThread(this.filename, this.captureOptions());
  }

  private captureOptions(): { name: string; thread: boolean; onBadRecord: (b: BadRecord) => void } {
    return { name: this.config.FILE, thread: this.config.PREFETCH, onBadRecord: (b) => this.logBad(b) };
  }

  override initialize(): void | Promise<void> {
    const early = this.early;
    this.early = null;
    const { reader, threadless } = early !== null ? { reader: early, threadless: null } : openCapture(this.filename, this.captureOptions());
    this.reader = reader;
    if (threadless !== null) this.env.log.info(`${this.name}: ${this.config.FILE}: ${threadless}`);
    if (this.config.TIMING) this.env.log.info(`${this.name}: TIMING is accepted but ignored; packets are emitted as fast as they are consumed`);
    // A reader thread starts in tens of milliseconds: before the run, not in its first batch.
    return reader instanceof ThreadedPcapReader ? reader.ready() : undefined;
  }

  /** Batches up to `seq` are done: the reader may reuse the file buffers they pointed into. */
  release(seq: number): void {
    this.reader?.release(seq);
  }

  nextBatch(seq: number, maxPackets: number): PacketBatch | null | Promise<PacketBatch | null> {
    const reader = this.reader;
    if (reader === null) throw new Error(`${this.name}: nextBatch before initialize`);
    if (this.finished) return null;
    const want = Math.min(maxPackets, this.limit - this.emitted);
    if (want <= 0) return this.finish();
    return this.pull(reader, seq, want);
  }

  /** The reader's next batch, going on to the next pass (REPEAT) where one ends. */
  private pull(reader: CaptureReader, seq: number, want: number): PacketBatch | null | Promise<PacketBatch | null> {
    for (;;) {
      const batch = reader.nextBatch(seq, want);
      // The reader thread has not read that far yet: go on when it has.
      if (batch instanceof Promise) return batch.then((b) => (b !== null ? this.took(b) : this.nextPass(reader) ? this.pull(reader, seq, want) : this.finish()));
      if (batch !== null) return this.took(batch);
      if (!this.nextPass(reader)) return this.finish();
    }
  }

  private took(batch: PacketBatch): PacketBatch {
    this.emitted += batch.count;
    return batch;
  }

  /** Rewind for the next pass; false when there is none. */
  private nextPass(reader: CaptureReader): boolean {
    if (++this.pass >= this.config.REPEAT) return false;
    reader.rewind();
    // A file with no good packet at all would spin through every pass: stop at once.
    return reader.nextId !== 0;
  }

  /** A source receives no batches; anything handed in passes on unchanged. */
  process(batch: PacketBatch): ElementOutput {
    return [batch];
  }

  override async cleanup(): Promise<void> {
    const reader = this.reader;
    const early = this.early;
    this.reader = null;
    this.early = null;
    await Promise.all([reader?.close(), early?.close()]);
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.emitted, 'packets emitted'),
      bad_records: counterHandler(() => this.reader?.badRecordCount ?? 0, 'corrupt or truncated records met'),
      filename: { read: () => this.filename, doc: 'the capture file' },
      link_type: { read: () => String(this.reader?.linkType ?? -1), doc: 'link type of the file header or first interface' },
    };
  }

  override summary(): Record<string, number | string> {
    return { count: this.emitted, bad_records: this.reader?.badRecordCount ?? 0, passes: Math.min(this.pass + 1, this.config.REPEAT) };
  }

  private finish(): null {
    if (!this.finished) {
      this.finished = true;
      const bad = this.reader?.badRecordCount ?? 0;
      if (bad > this.badLogged) this.env.log.warn(`${this.name}: ${this.config.FILE}: ${bad} bad records in all, ${bad - this.badLogged} not logged`);
    }
    return null;
  }

  private logBad(b: BadRecord): void {
    if (this.badLogged >= MAX_BAD_RECORD_LOG_LINES) return;
    this.badLogged++;
    this.env.log.warn(`${this.name}: ${formatBadRecord(this.config.FILE, b)}`);
  }
}
