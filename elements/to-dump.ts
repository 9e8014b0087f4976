/**
 * ToDump(FILE [, keywords NANO, SNAPLEN, ENCAP])
 *
 * Ports: 1 input, 0 or 1 output (packets pass on unchanged when output 0 is connected).
 *
 * Writes every packet's current bytes (its `offset/length` window, so after Strip(14) the IP
 * packet) with its timestamps to a classic pcap file: microsecond timestamps, or nanosecond
 * with NANO true. FILE is resolved against the configuration's directory and created at
 * initialize. The file's link type is ENCAP when given, else the first batch's `linkType`
 * (Strip(14) of Ethernet sets 101, raw IP); a batch of another link type cannot go into the
 * same classic pcap and is skipped, counted in `skipped` and warned about once. orig_len is
 * max(current length, wire length). Writes are buffered (1 MiB) and flushed at the end of the
 * stream (`flush`) and in `cleanup`.
 *
 * Keywords:
 *   FILE     output file name
 *   NANO     boolean: nanosecond timestamps (default false: microseconds)
 *   SNAPLEN  most bytes written per packet (default 262144)
 *   ENCAP    link type of the file: ETHER, IP (raw), SLL, SLL2 or a LINKTYPE number
 *
 * Handlers:
 *   count (read)     packets written
 *   skipped (read)   packets not written because their link type differs from the file's
 *   filename (read)  the resolved file name
 */
import path from 'node:path';
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, argLocation, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import { ConfigError } from '../core/config/source-location.js';
import { captureOutputProblem } from '../core/pcap/capture-file-check.js';
import type { HandlerTable } from '../core/handlers.js';
import { PcapWriter } from '../core/pcap/pcap-writer.js';
import { linkTypeName, parseLinkType } from '../core/pcap/link-types.js';
import { MAX_PACKET } from '../core/pcap/record-scan.js';
import { counterHandler } from './lib/handler-helpers.js';
import { quoteUserText } from '../core/quote-user-text.js';

export interface ToDumpConfig {
  FILE: string;
  NANO: boolean;
  SNAPLEN: number;
  ENCAP?: number;
}

export class ToDump extends Element<ToDumpConfig> {
  static readonly className = 'ToDump';
  static readonly ports = { inputs: '1', outputs: '0-1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'skipped'], doc: 'packets written and skipped' },
      { kind: 'settings', name: 'file', settings: ['filename'], doc: 'the open output file' },
    ],
  };
  static readonly manual = `ToDump(FILE [, keywords NANO, SNAPLEN, ENCAP])

Ports: 1 input, 0 or 1 output (packets pass on unchanged when output 0 is connected).

Writes every packet's current bytes (its \`offset/length\` window, so after Strip(14) the IP
packet) with its timestamps to a classic pcap file: microsecond timestamps, or nanosecond
with NANO true. FILE is resolved against the configuration's directory and created at
initialize. The file's link type is ENCAP when given, else the first batch's \`linkType\`
(Strip(14) of Ethernet sets 101, raw IP); a batch of another link type cannot go into the
same classic pcap and is skipped, counted in \`skipped\` and warned about once. orig_len is
max(current length, wire length). Writes are buffered (1 MiB) and flushed at the end of the
stream (\`flush\`) and in \`cleanup\`.

Keywords:
  FILE     output file name
  NANO     boolean: nanosecond timestamps (default false: microseconds)
  SNAPLEN  most bytes written per packet (default 262144)
  ENCAP    link type of the file: ETHER, IP (raw), SLL, SLL2 or a LINKTYPE number

Handlers:
  count (read)     packets written
  skipped (read)   packets not written because their link type differs from the file's
  filename (read)  the resolved file name`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<ToDumpConfig> = {
    positional: ['FILE'],
    keywords: ['FILE', 'NANO', 'SNAPLEN', 'ENCAP'],
    schema: z.object({
      FILE: arg.string().min(1, 'a file name is required'),
      NANO: arg.bool().default(false),
      SNAPLEN: arg.int(1, MAX_PACKET).default(MAX_PACKET),
      ENCAP: arg
        .string()
        .transform((s, ctx) => {
          const t = parseLinkType(s);
          if (t === null) {
            ctx.addIssue({ code: 'custom', message: `unknown link type ${quoteUserText(s)} (ETHER, IP, SLL, SLL2 or a number)` });
            return z.NEVER;
          }
          return t;
        })
        .optional(),
    }),
  };

  /** `hetbox check`: FILE must be writable (see capture-file-check.ts), named at its place. */
  static checkEnvironment(config: ToDumpConfig, args: ConfigArgs, baseDir: string): void {
    const problem = captureOutputProblem(path.resolve(baseDir, config.FILE));
    if (problem !== null) throw new ConfigError(argLocation(args, 'FILE', ToDump.args), `ToDump FILE: ${problem}`);
  }

  static parseConfig(args: ConfigArgs): ToDumpConfig {
    return parseArgs(args, ToDump.args);
  }

  private writer: PcapWriter | null = null;
  private skippedPackets = 0;

  get filename(): string {
    return path.resolve(this.env.baseDir, this.config.FILE);
  }

  override initialize(): void {
    this.writer = PcapWriter.open(this.filename, { nano: this.config.NANO, snaplen: this.config.SNAPLEN, linkType: this.config.ENCAP });
  }

  process(batch: PacketBatch): ElementOutput {
    const w = this.writer;
    if (w === null) throw new Error(`${this.name}: process before initialize`);
    const written = w.writeBatch(batch);
    if (!written) {
      if (this.skippedPackets === 0) {
        this.env.log.warn(`${this.name}: ${this.config.FILE} is ${linkTypeName(w.linkType)} (${w.linkType}); skipping packets of link type ${batch.linkType} (${linkTypeName(batch.linkType)})`);
      }
      this.skippedPackets += batch.count;
    }
    if (this.noutputs > 0) return [batch];
    // A sink: written packets end here on purpose; skipped ones are lost (counted by reason).
    if (written) this.ledger.consume('written', batch.count);
    else this.ledger.drop('link_type_mismatch', batch.count);
    return [];
  }

  override flush(): ElementOutput {
    this.writer?.flush();
    return [];
  }

  override cleanup(): void {
    // The writer stays (closed) so count still reads after the run.
    this.writer?.close();
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.writer?.packets ?? 0, 'packets written'),
      skipped: counterHandler(() => this.skippedPackets, 'packets of another link type, not written'),
      filename: { read: () => this.filename, doc: 'the output file' },
    };
  }

  override summary(): Record<string, number> {
    return { count: this.writer?.packets ?? 0, skipped: this.skippedPackets };
  }
}
