/**
 * Strip(LENGTH)
 *
 * Ports: 1 input, 1 output.
 *
 * Removes LENGTH bytes from the front of every packet by moving its window in the arena
 * (no copy). A packet shorter than LENGTH becomes empty, as Click's Packet::pull does, and is
 * counted in `short` (a later CheckIPHeader calls it a tiny packet).
 *
 * Link type: Strip(14) on an Ethernet batch (linkType 1) leaves raw IP, so it sets
 * `batch.linkType = 101` (LINKTYPE_RAW) and ToDump writes a capture readers decode as IP.
 * Other lengths leave the link type alone.
 *
 * Handlers:
 *   count (read)  packets processed
 *   short (read)  packets shorter than LENGTH (emptied)
 */
import { z } from 'zod';
import { SimpleElement } from '../core/element-helpers/simple-element.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { ETHER_HEADER_LENGTH, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../core/net/ipv4.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface StripConfig {
  LENGTH: number;
}

export class Strip extends SimpleElement<StripConfig> {
  static readonly className = 'Strip';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'short'], doc: 'packets stripped, and too short' },
    ],
  };
  static readonly manual = `Strip(LENGTH)

Ports: 1 input, 1 output.

Removes LENGTH bytes from the front of every packet by moving its window in the arena
(no copy). A packet shorter than LENGTH becomes empty, as Click's Packet::pull does, and is
counted in \`short\` (a later CheckIPHeader calls it a tiny packet).

Link type: Strip(14) on an Ethernet batch (linkType 1) leaves raw IP, so it sets
\`batch.linkType = 101\` (LINKTYPE_RAW) and ToDump writes a capture readers decode as IP.
Other lengths leave the link type alone.

Handlers:
  count (read)  packets processed
  short (read)  packets shorter than LENGTH (emptied)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<StripConfig> = { positional: ['LENGTH'], keywords: ['LENGTH'], schema: z.object({ LENGTH: arg.int(0, 65535) }) };

  static parseConfig(args: ConfigArgs): StripConfig {
    return parseArgs(args, Strip.args);
  }

  private packets = 0;
  private shortPackets = 0;

  protected override action(batch: PacketBatch): void {
    const k = this.config.LENGTH;
    const n = batch.count;
    const off = batch.offset;
    const len = batch.length;
    // The wire length shrinks with the packet, as Click's length + extra-length annotation does,
    // so ToDump records the stripped packet's true size.
    const wire = batch.wireLength;
    let short = 0;
    for (let i = 0; i < n; i++) {
      const l = len[i];
      if (l >= k) {
        off[i] += k;
        len[i] = l - k;
        wire[i] = Math.max(0, wire[i] - k);
      } else {
        off[i] += l;
        len[i] = 0;
        wire[i] = Math.max(0, wire[i] - l);
        short++;
      }
    }
    this.packets += n;
    this.shortPackets += short;
    if (k === ETHER_HEADER_LENGTH && batch.linkType === LINKTYPE_ETHERNET) batch.linkType = LINKTYPE_RAW;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.packets, 'packets processed'),
      short: counterHandler(() => this.shortPackets, 'packets shorter than LENGTH (emptied)'),
    };
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.packets, short: this.shortPackets });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.packets = c.count;
    this.shortPackets = c.short;
  }

  override summary(): Record<string, number> {
    return { count: this.packets, short: this.shortPackets };
  }
}
