/**
 * EtherEncap(ETHERTYPE, SRC, DST)
 *
 * Ports: 1 input, 1 output.
 *
 * Prepends a 14-byte Ethernet header (DST, SRC, ETHERTYPE) to every packet, writing it into
 * the packet's headroom in the arena (no copy of the payload). A packet with less than 14
 * bytes of headroom above base[i] is dropped and counted in `drops`. Sets the batch's link
 * type to 1 (Ethernet).
 *
 * ETHERTYPE is hex (0x0800) or decimal; SRC and DST are Ethernet addresses (00:1b:21:3a:4f:5c).
 *
 * Handlers:
 *   ethertype, src, dst (read/write)  the header fields (writes validated, apply to later batches)
 *   count (read)                      packets encapsulated
 *   drops (read)                      packets without headroom (dropped)
 */
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput } from '../core/element.js';
import { statePart, type ElementDeclaration, type ElementState } from '../core/element-state.js';

const HEADER_FIELDS = ['ethertype', 'src', 'dst'] as const;
import type { PacketBatch } from '../core/packet-batch.js';
import { parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { etherAddressSchema, etherTypeSchema, formatEtherAddress } from '../core/net/ethernet.js';
import { ETHER_HEADER_LENGTH, LINKTYPE_ETHERNET } from '../core/net/ipv4.js';
import { counterHandler, parseHandlerValue } from './lib/handler-helpers.js';
import { ScratchInt32 } from './lib/scratch.js';

export interface EtherEncapConfig {
  ETHERTYPE: number;
  SRC: Uint8Array;
  DST: Uint8Array;
}

const schema = z.object({ ETHERTYPE: etherTypeSchema, SRC: etherAddressSchema, DST: etherAddressSchema });

export class EtherEncap extends Element<EtherEncapConfig> {
  static readonly className = 'EtherEncap';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'drops'], doc: 'packets encapsulated and dropped' },
      { kind: 'settings', name: 'header', settings: ['ethertype', 'src', 'dst'], doc: 'header fields set by handlers' },
    ],
  };
  static readonly manual = `EtherEncap(ETHERTYPE, SRC, DST)

Ports: 1 input, 1 output.

Prepends a 14-byte Ethernet header (DST, SRC, ETHERTYPE) to every packet, writing it into
the packet's headroom in the arena (no copy of the payload). A packet with less than 14
bytes of headroom above base[i] is dropped and counted in \`drops\`. Sets the batch's link
type to 1 (Ethernet).

ETHERTYPE is hex (0x0800) or decimal; SRC and DST are Ethernet addresses (00:1b:21:3a:4f:5c).

Handlers:
  ethertype, src, dst (read/write)  the header fields (writes validated, apply to later batches)
  count (read)                      packets encapsulated
  drops (read)                      packets without headroom (dropped)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<EtherEncapConfig> = { positional: ['ETHERTYPE', 'SRC', 'DST'], keywords: ['ETHERTYPE', 'SRC', 'DST'], schema };

  static parseConfig(args: ConfigArgs): EtherEncapConfig {
    return parseArgs(args, EtherEncap.args);
  }

  // The header template: DST, SRC, EtherType, rebuilt when a handler changes a field.
  private readonly header = new Uint8Array(ETHER_HEADER_LENGTH);
  private etherType = this.config.ETHERTYPE;
  private readonly keep = new ScratchInt32();
  private encapsulated = 0;
  private dropped = 0;

  constructor(init: ElementInit<EtherEncapConfig>) {
    super(init);
    this.header.set(this.config.DST, 0);
    this.header.set(this.config.SRC, 6);
    this.setEtherType(this.config.ETHERTYPE);
  }

  private setEtherType(t: number): void {
    this.etherType = t;
    this.header[12] = t >>> 8;
    this.header[13] = t & 0xff;
  }

  process(batch: PacketBatch): ElementOutput {
    const n = batch.count;
    const data = batch.data;
    const off = batch.offset;
    const len = batch.length;
    const base = batch.base;
    const h = this.header;
    const keep = this.keep.get(n);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const p = off[i] - ETHER_HEADER_LENGTH;
      if (p < base[i]) {
        keep[i] = 0;
        bad++;
        continue;
      }
      for (let b = 0; b < ETHER_HEADER_LENGTH; b++) data[p + b] = h[b];
      off[i] = p;
      len[i] += ETHER_HEADER_LENGTH;
      batch.wireLength[i] += ETHER_HEADER_LENGTH;
      keep[i] = 1;
    }
    if (bad > 0) batch.filterInPlace(keep);
    this.dropped += bad;
    this.ledger.drop('no_headroom', bad);
    this.encapsulated += n - bad;
    batch.linkType = LINKTYPE_ETHERNET;
    return [batch];
  }

  override handlers(): HandlerTable {
    return {
      ethertype: {
        read: () => `0x${this.etherType.toString(16).padStart(4, '0')}`,
        write: (v) => this.setEtherType(parseHandlerValue('ethertype', etherTypeSchema, v)),
        doc: 'EtherType written',
      },
      src: {
        read: () => formatEtherAddress(this.header.subarray(6, 12)),
        write: (v) => this.header.set(parseHandlerValue('src', etherAddressSchema, v), 6),
        doc: 'source Ethernet address',
      },
      dst: {
        read: () => formatEtherAddress(this.header.subarray(0, 6)),
        write: (v) => this.header.set(parseHandlerValue('dst', etherAddressSchema, v), 0),
        doc: 'destination Ethernet address',
      },
      count: counterHandler(() => this.encapsulated, 'packets encapsulated'),
      drops: counterHandler(() => this.dropped, 'packets without headroom (dropped)'),
    };
  }

  /** Counters, and the header fields as their handlers print them (a write there validates them again). */
  override exportState(): ElementState {
    const h = this.handlers();
    const header: Record<string, string> = {};
    for (const f of HEADER_FIELDS) {
      const v = h[f].read!();
      if (typeof v !== 'string') throw new Error(`${this.name}: handler ${f} reads asynchronously`);
      header[f] = v;
    }
    return this.stateHeader({ ...this.countersState({ count: this.encapsulated, drops: this.dropped }).parts, header: { kind: 'settings', values: header } });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    const header = statePart(this.name, state, 'header', 'settings').values;
    const h = this.handlers();
    for (const f of HEADER_FIELDS) h[f].write!(String(header[f]));
    this.encapsulated = c.count;
    this.dropped = c.drops;
  }

  override summary(): Record<string, number> {
    return { count: this.encapsulated, drops: this.dropped };
  }
}
