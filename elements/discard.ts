/**
 * Discard
 *
 * Ports: 1 input, no outputs.
 *
 * Drops every packet it receives, counting them.
 *
 * Handlers:
 *   count (read)          packets discarded
 *   byte_count (read)     bytes discarded
 *   reset_counts (write)  zero the counters
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { actionHandler, counterHandler } from './lib/handler-helpers.js';

export type DiscardConfig = Record<string, never>;

export class Discard extends Element<DiscardConfig> {
  static readonly className = 'Discard';
  static readonly ports = { inputs: '1', outputs: '0' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'byte_count'], doc: 'packets and bytes discarded' },
    ],
  };
  static readonly manual = `Discard

Ports: 1 input, no outputs.

Drops every packet it receives, counting them.

Handlers:
  count (read)          packets discarded
  byte_count (read)     bytes discarded
  reset_counts (write)  zero the counters`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<DiscardConfig> = { schema: z.object({}).strict() as z.ZodType<DiscardConfig> };

  static parseConfig(args: ConfigArgs): DiscardConfig {
    return parseArgs(args, Discard.args);
  }

  private packets = 0;
  private bytes = 0;

  process(batch: PacketBatch): ElementOutput {
    const len = batch.length;
    let b = 0;
    for (let i = 0; i < batch.count; i++) b += len[i];
    this.packets += batch.count;
    this.bytes += b;
    this.ledger.consume('discarded', batch.count);
    return [];
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.packets, 'packets discarded'),
      byte_count: counterHandler(() => this.bytes, 'bytes discarded'),
      reset_counts: actionHandler(() => {
        this.packets = 0;
        this.bytes = 0;
      }, 'zero the counters'),
    };
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.packets, byte_count: this.bytes });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.packets = c.count;
    this.bytes = c.byte_count;
  }

  override summary(): Record<string, number> {
    return { count: this.packets, byte_count: this.bytes };
  }
}
