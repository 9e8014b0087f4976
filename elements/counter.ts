/**
 * Counter(keyword WINDOW)
 *
 * Ports: 1 input, 1 output.
 *
 * Counts packets and bytes passing through (bytes are the packets' current lengths).
 * `rate` is the recent arrival rate in packets per second over the last WINDOW milliseconds
 * of wall-clock time (default 1000), from per-batch samples kept in a fixed ring (no
 * per-batch allocation); Click measures the same with an averaging window.
 *
 * Handlers:
 *   count (read)       packets seen
 *   byte_count (read)  bytes seen
 *   rate (read)        packets per second over the recent window (0 before two samples)
 *   byte_rate (read)   bytes per second over the same window
 *   reset (write)      zero counts and forget the rate history
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import { statePart, type ElementDeclaration, type ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { actionHandler, counterHandler } from './lib/handler-helpers.js';

export interface CounterConfig {
  WINDOW: number;
}

const RING = 256;

export class Counter extends Element<CounterConfig> {
  static readonly className = 'Counter';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'byte_count'], doc: 'packets and bytes seen (the rate history stays with its instance)' },
    ],
  };
  static readonly manual = `Counter(keyword WINDOW)

Ports: 1 input, 1 output.

Counts packets and bytes passing through (bytes are the packets' current lengths).
\`rate\` is the recent arrival rate in packets per second over the last WINDOW milliseconds
of wall-clock time (default 1000), from per-batch samples kept in a fixed ring (no
per-batch allocation); Click measures the same with an averaging window.

Handlers:
  count (read)       packets seen
  byte_count (read)  bytes seen
  rate (read)        packets per second over the recent window (0 before two samples)
  byte_rate (read)   bytes per second over the same window
  reset (write)      zero counts and forget the rate history`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<CounterConfig> = { keywords: ['WINDOW'], schema: z.object({ WINDOW: arg.int(1, 3_600_000).default(1000) }) };

  static parseConfig(args: ConfigArgs): CounterConfig {
    return parseArgs(args, Counter.args);
  }

  /** Milliseconds clock; tests may replace it to make rates deterministic. */
  now: () => number = () => performance.now();

  private packets = 0;
  private bytes = 0;
  // Ring of (time, cumulative packets, cumulative bytes) samples, one per batch.
  private readonly sampleT = new Float64Array(RING);
  private readonly sampleP = new Float64Array(RING);
  private readonly sampleB = new Float64Array(RING);
  private samples = 0;

  process(batch: PacketBatch): ElementOutput {
    const n = batch.count;
    const len = batch.length;
    let b = 0;
    for (let i = 0; i < n; i++) b += len[i];
    this.packets += n;
    this.bytes += b;
    const k = this.samples++ % RING;
    this.sampleT[k] = this.now();
    this.sampleP[k] = this.packets;
    this.sampleB[k] = this.bytes;
    return [batch];
  }

  /** The counts. The rate history is wall-clock samples of this instance: the importer starts its own. */
  override exportState(): ElementState {
    return this.stateHeader({ counters: { kind: 'counters', values: { count: this.packets, byte_count: this.bytes } } });
  }

  override importState(state: ElementState): void {
    this.checkStateHeader(state);
    const c = statePart(this.name, state, 'counters', 'counters').values;
    this.packets = c.count ?? 0;
    this.bytes = c.byte_count ?? 0;
  }

  /** Packets and bytes per second over the recent window. */
  rates(): { packets: number; bytes: number } {
    const have = Math.min(this.samples, RING);
    if (have < 2) return { packets: 0, bytes: 0 };
    const last = (this.samples - 1) % RING;
    const t = this.now();
    const from = t - this.config.WINDOW;
    // The oldest sample still inside the window (or the one just before it, to span it).
    let first = last;
    for (let s = 1; s < have; s++) {
      const k = (this.samples - 1 - s) % RING;
      first = k;
      if (this.sampleT[k] <= from) break;
    }
    const dt = (this.sampleT[last] - this.sampleT[first]) / 1000;
    if (dt <= 0 || t - this.sampleT[last] > this.config.WINDOW) return { packets: 0, bytes: 0 };
    return { packets: (this.sampleP[last] - this.sampleP[first]) / dt, bytes: (this.sampleB[last] - this.sampleB[first]) / dt };
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.packets, 'packets seen'),
      byte_count: counterHandler(() => this.bytes, 'bytes seen'),
      rate: { read: () => formatRate(this.rates().packets), doc: 'packets per second, recent window' },
      byte_rate: { read: () => formatRate(this.rates().bytes), doc: 'bytes per second, recent window' },
      reset: actionHandler(() => {
        this.packets = 0;
        this.bytes = 0;
        this.samples = 0;
      }, 'zero counts and rate history'),
    };
  }

  override summary(): Record<string, number> {
    return { count: this.packets, byte_count: this.bytes, rate: this.rates().packets };
  }
}

function formatRate(r: number): string {
  return Number.isInteger(r) ? String(r) : r.toFixed(1);
}
