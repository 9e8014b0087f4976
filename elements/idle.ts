/**
 * Idle
 *
 * Ports: any number of inputs, any number of outputs.
 *
 * Never produces a packet and discards whatever reaches it (Click's Idle): it fills a port
 * that must be connected but will carry nothing, e.g. the input of a configuration driven only
 * through handlers. As a source it ends at once.
 *
 * Handlers: count (read) packets discarded.
 */
import { z } from 'zod';
import { Element, type ElementOutput, type SourceElement } from '../core/element.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { counterHandler } from './lib/handler-helpers.js';

export type IdleConfig = Record<string, never>;

export class Idle extends Element<IdleConfig> implements SourceElement {
  static readonly className = 'Idle';
  static readonly ports = { inputs: '-', outputs: '-' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = { kernels: [], state: [] };
  static readonly manual = `Idle

Ports: any number of inputs, any number of outputs.

Never produces a packet and discards whatever reaches it (Click's Idle): it fills a port
that must be connected but will carry nothing, e.g. the input of a configuration driven only
through handlers. As a source it ends at once.

Handlers: count (read) packets discarded.`;

  private discarded = 0;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<IdleConfig> = { schema: z.object({}).strict() as z.ZodType<IdleConfig> };

  static parseConfig(args: ConfigArgs): IdleConfig {
    return parseArgs(args, Idle.args);
  }

  nextBatch(): PacketBatch | null {
    return null;
  }

  process(batch: PacketBatch): ElementOutput {
    this.discarded += batch.count;
    this.ledger.consume('discarded', batch.count);
    return [];
  }

  override handlers(): HandlerTable {
    return { count: counterHandler(() => this.discarded, 'packets discarded') };
  }
}
