/**
 * Tee([N])
 *
 * Ports: 1 input, N outputs (N defaults to the number of connected outputs).
 *
 * Sends every packet to each output. Output 0 gets the batch itself; outputs 1..N-1 get
 * copies (PacketBatch.concat copies the bytes and annotations), so an element that edits
 * headers in place (DecIPTTL, Strip, EtherEncap) on one branch cannot change another's.
 *
 * Handlers:
 *   count (read)  packets received
 */
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface TeeConfig {
  N?: number;
}

export class Tee extends Element<TeeConfig> {
  static readonly className = 'Tee';
  static readonly ports = { inputs: '1', outputs: '1-' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count'], doc: 'packets duplicated' },
    ],
  };
  static readonly manual = `Tee([N])

Ports: 1 input, N outputs (N defaults to the number of connected outputs).

Sends every packet to each output. Output 0 gets the batch itself; outputs 1..N-1 get
copies (PacketBatch.concat copies the bytes and annotations), so an element that edits
headers in place (DecIPTTL, Strip, EtherEncap) on one branch cannot change another's.

Handlers:
  count (read)  packets received`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<TeeConfig> = { positional: ['N'], keywords: ['N'], schema: z.object({ N: arg.int(1, 1024).optional() }) };

  static parseConfig(args: ConfigArgs): TeeConfig {
    return parseArgs(args, Tee.args);
  }

  /** Outputs a configuration needs: N when given, else undefined (the port spec: as many as connected). */
  static outputsFor(config: TeeConfig): number | undefined {
    return config.N;
  }

  private packets = 0;

  process(batch: PacketBatch): ElementOutput {
    this.packets += batch.count;
    const n = this.config.N ?? Math.max(1, this.noutputs);
    const out: ElementOutput = [batch];
    for (let k = 1; k < n; k++) {
      const copy = PacketBatch.concat(batch.seq, [batch]);
      copy.linkType = batch.linkType;
      out.push(copy);
    }
    // Accounting: each output after the first carries copies this element made.
    this.ledger.create('copies', (n - 1) * batch.count);
    return out;
  }

  override handlers(): HandlerTable {
    return { count: counterHandler(() => this.packets, 'packets received') };
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.packets });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.packets = c.count;
  }

  override summary(): Record<string, number> {
    return { count: this.packets };
  }
}
