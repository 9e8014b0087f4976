/**
 * Unstrip(LENGTH)
 *
 * Ports: 1 input, 1 output.
 *
 * Puts LENGTH bytes back in front of every packet by moving its window back in the arena
 * (the bytes are whatever was there: normally the header a Strip removed). A packet may not
 * grow below its headroom start `base[i]`: such a packet is dropped and counted in `drops`,
 * never extended over another packet's bytes.
 *
 * Link type: Unstrip(14) on a raw IP batch (linkType 101) sets `batch.linkType = 1`
 * (Ethernet), undoing Strip(14). Other lengths leave the link type alone.
 *
 * Handlers:
 *   count (read)  packets passed
 *   drops (read)  packets without LENGTH bytes of headroom (dropped)
 */
import { z } from 'zod';
import { ClassifyElement } from '../core/element-helpers/classify-element.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { ETHER_HEADER_LENGTH, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../core/net/ipv4.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface UnstripConfig {
  LENGTH: number;
}

export class Unstrip extends ClassifyElement<UnstripConfig> {
  static readonly className = 'Unstrip';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'drops'], doc: 'packets passed and dropped' },
    ],
  };
  static readonly manual = `Unstrip(LENGTH)

Ports: 1 input, 1 output.

Puts LENGTH bytes back in front of every packet by moving its window back in the arena
(the bytes are whatever was there: normally the header a Strip removed). A packet may not
grow below its headroom start \`base[i]\`: such a packet is dropped and counted in \`drops\`,
never extended over another packet's bytes.

Link type: Unstrip(14) on a raw IP batch (linkType 101) sets \`batch.linkType = 1\`
(Ethernet), undoing Strip(14). Other lengths leave the link type alone.

Handlers:
  count (read)  packets passed
  drops (read)  packets without LENGTH bytes of headroom (dropped)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<UnstripConfig> = { positional: ['LENGTH'], keywords: ['LENGTH'], schema: z.object({ LENGTH: arg.int(0, 65535) }) };

  static parseConfig(args: ConfigArgs): UnstripConfig {
    return parseArgs(args, Unstrip.args);
  }

  private passed = 0;
  private dropped = 0;

  /** Output 0, or dropped (-1) without the headroom. */
  protected classify(batch: PacketBatch, ports: Int32Array): number {
    const k = this.config.LENGTH;
    const n = batch.count;
    const off = batch.offset;
    const len = batch.length;
    const base = batch.base;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (off[i] - k >= base[i]) {
        off[i] -= k;
        len[i] += k;
        batch.wireLength[i] += k;
        ports[i] = 0;
      } else {
        ports[i] = -1;
        bad++;
      }
    }
    this.dropped += bad;
    this.ledger.drop('no_headroom', bad);
    this.passed += n - bad;
    if (k === ETHER_HEADER_LENGTH && batch.linkType === LINKTYPE_RAW) batch.linkType = LINKTYPE_ETHERNET;
    return bad;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.passed, 'packets passed'),
      drops: counterHandler(() => this.dropped, 'packets without enough headroom (dropped)'),
    };
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.passed, drops: this.dropped });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.passed = c.count;
    this.dropped = c.drops;
  }

  override summary(): Record<string, number> {
    return { count: this.passed, drops: this.dropped };
  }
}
