/**
 * Print([LABEL, MAXLENGTH], keywords LABEL, MAXLENGTH, CONTENTS, TIMESTAMP, ACTIVE)
 *
 * Ports: 1 input, 1 output.
 *
 * Prints one line per packet to standard output, as Click does, then passes the batch on:
 *   LABEL: LEN | 45000054 cd5e4000 40016f3c ...
 * LEN is the packet's current length right-aligned in 4 columns; then up to MAXLENGTH bytes
 * (default 24) in hex, a space every 4 bytes. With TIMESTAMP true the pcap timestamp
 * (seconds.nanoseconds) follows the label. CONTENTS NONE prints only the length. The lines
 * of a batch are written in one write call.
 *
 * Handlers:
 *   active (read/write)  whether to print (true/false); packets pass either way
 *   count (read)         packets printed
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { counterHandler, parseHandlerValue } from './lib/handler-helpers.js';

export interface PrintConfig {
  LABEL: string;
  MAXLENGTH: number;
  CONTENTS: 'HEX' | 'NONE';
  TIMESTAMP: boolean;
  ACTIVE: boolean;
}

const schema = z.object({
  LABEL: z.string().default(''),
  MAXLENGTH: arg.int(0, 65535).default(24),
  CONTENTS: z.enum(['HEX', 'NONE']).default('HEX'),
  TIMESTAMP: arg.bool().default(false),
  ACTIVE: arg.bool().default(true),
});

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

export class Print extends Element<PrintConfig> {
  static readonly className = 'Print';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count'], doc: 'packets printed' },
      { kind: 'settings', name: 'settings', settings: ['active'], doc: 'printing on or off, writable by handler' },
    ],
  };
  static readonly manual = `Print([LABEL, MAXLENGTH], keywords LABEL, MAXLENGTH, CONTENTS, TIMESTAMP, ACTIVE)

Ports: 1 input, 1 output.

Prints one line per packet to standard output, as Click does, then passes the batch on:
  LABEL: LEN | 45000054 cd5e4000 40016f3c ...
LEN is the packet's current length right-aligned in 4 columns; then up to MAXLENGTH bytes
(default 24) in hex, a space every 4 bytes. With TIMESTAMP true the pcap timestamp
(seconds.nanoseconds) follows the label. CONTENTS NONE prints only the length. The lines
of a batch are written in one write call.

Handlers:
  active (read/write)  whether to print (true/false); packets pass either way
  count (read)         packets printed`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<PrintConfig> = { positional: ['LABEL', 'MAXLENGTH'], keywords: ['LABEL', 'MAXLENGTH', 'CONTENTS', 'TIMESTAMP', 'ACTIVE'], schema };

  static parseConfig(args: ConfigArgs): PrintConfig {
    return parseArgs(args, Print.args);
  }

  /** Where lines go; tests may replace it. */
  write: (text: string) => void = (text) => {
    process.stdout.write(text);
  };

  private active = this.config.ACTIVE;
  private printed = 0;

  process(batch: PacketBatch): ElementOutput {
    if (!this.active || batch.count === 0) return [batch];
    const { LABEL, MAXLENGTH, CONTENTS, TIMESTAMP } = this.config;
    const data = batch.data;
    const lines: string[] = new Array(batch.count);
    for (let i = 0; i < batch.count; i++) {
      let s = LABEL;
      if (TIMESTAMP) s += `${s === '' ? '' : ' '}${batch.tsSec[i]}.${String(batch.tsNsec[i]).padStart(9, '0')}`;
      if (s !== '') s += ': ';
      s += String(batch.length[i]).padStart(4);
      if (CONTENTS === 'HEX') {
        s += ' |';
        const start = batch.offset[i];
        const n = Math.min(MAXLENGTH, batch.length[i]);
        for (let b = 0; b < n; b++) s += (b & 3) === 0 ? ' ' + HEX_BYTE[data[start + b]] : HEX_BYTE[data[start + b]];
      }
      lines[i] = s;
    }
    this.printed += batch.count;
    this.write(lines.join('\n') + '\n');
    return [batch];
  }

  override handlers(): HandlerTable {
    return {
      active: {
        read: () => String(this.active),
        write: (v) => {
          this.active = parseHandlerValue('active', arg.bool(), v);
        },
        doc: 'print packets (true/false)',
      },
      count: counterHandler(() => this.printed, 'packets printed'),
    };
  }

  override summary(): Record<string, number> {
    return { count: this.printed };
  }
}
