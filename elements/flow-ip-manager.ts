/**
 * FlowIPManager([CAPACITY n, BIDIRECTIONAL b, POLICY p, TIMEOUT_TCP s, TIMEOUT_TCP_HANDSHAKE s,
 *                TIMEOUT_TCP_CLOSED s, TIMEOUT_UDP s, TIMEOUT_OTHER s, SEED n])
 *
 * Ports: 1 input, 1 or 2 outputs.
 *
 * Classifies each packet once into a flow (FastClick's flow manager): its 5-tuple (IPv4 or
 * IPv6; TCP, UDP, SCTP ports; ICMP type pairs as Community-ID maps them; other protocols by
 * address pair) is looked up in a flow table and inserted when new; the entry index becomes
 * the `flow` annotation and the direction the `flowdir` annotation (0 the flow's originator,
 * 1 its reply; always 0 unless BIDIRECTIONAL). Downstream elements (IPRewriter,
 * FlowIPLoadBalancer) read and write their flow-local fields by that id, without classifying
 * again. Non-IP packets, and packets passed untracked when the table is full, get flow -1.
 * Packets dropped by POLICY drop leave on output 1 when it is connected, else are dropped and
 * counted (`drops`).
 * Non-first fragments carry no ports: put IPReassembler in front to classify them with theirs.
 *
 * The table's expiry runs on packet timestamps (a capture replays identically): a flow idle
 * longer than its timeout ends. Its memory is fixed when the configuration starts.
 *
 * Keywords:
 *   CAPACITY               most live flows (default 65536): the memory cap
 *   BIDIRECTIONAL          both directions of a connection are one flow (default true)
 *   POLICY                 when full: evict (default; least recently seen of the key's buckets),
 *                          drop (the packet), pass (untracked, flow -1)
 *   TIMEOUT_TCP            established TCP idle timeout in seconds (default 300)
 *   TIMEOUT_TCP_HANDSHAKE  TCP with an unfinished handshake (default 5)
 *   TIMEOUT_TCP_CLOSED     TCP after FINs both ways or a RST (default 10)
 *   TIMEOUT_UDP            UDP (default 60)
 *   TIMEOUT_OTHER          every other protocol (default 30)
 *   SEED                   flow hash seed (default 24301)
 *
 * Handlers:
 *   size, capacity, bytes (read)   live flows, the cap, the table's memory in bytes
 *   inserts, lookups, hits (read)  flows created, packets classified, packets of known flows
 *   evictions, expirations (read)  flows ended to make room, flows ended idle
 *   drops, passed (read)           packets dropped / passed untracked because the table was full
 *   untracked (read)               packets without an IP header (flow -1)
 *   fields (read)                  the flow-local fields declared by elements, with offsets
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { KEY_WORDS, canonicalizeKey, ipHeaderOffset, newPacketInfo, parseIpPacket } from '../core/flows/flow-key.js';
import { flowSpaceOf } from '../core/flows/flow-space.js';
import { FLOW_LOOKUP } from '../core/kernels/flow-lookup/index.js';
import { FLOW_DROPPED, FlowTable, type FullPolicy } from '../core/structures/flow-table/flow-table.js';
import { FLOW_TABLE } from '../core/structures/flow-table/flow-table-image.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface FlowIPManagerConfig {
  CAPACITY: number;
  BIDIRECTIONAL: boolean;
  POLICY: FullPolicy;
  TIMEOUT_TCP: number;
  TIMEOUT_TCP_HANDSHAKE: number;
  TIMEOUT_TCP_CLOSED: number;
  TIMEOUT_UDP: number;
  TIMEOUT_OTHER: number;
  SEED: number;
}

const seconds = () => z.coerce.number().positive().max(86400 * 365);

export class FlowIPManager extends Element<FlowIPManagerConfig> {
  static readonly className = 'FlowIPManager';
  static readonly ports = { inputs: '1', outputs: '1-2' };
  /**
   * Kernels it runs and state it owns (planner, migration). The lookup is kernel `flow-lookup`
   * (core/kernels/flow-lookup/: cpu, null and webgpu forms over the flow-table image); this
   * element still classifies inline on the CPU, because a miss inserts into the table it owns.
   */
  static readonly declares: ElementDeclaration = {
    kernels: [FLOW_LOOKUP],
    state: [
      { kind: 'structure', name: 'flows', structure: FLOW_TABLE, doc: 'the flow table: keys, times, TCP state and every element\'s flow-local fields' },
      { kind: 'counters', name: 'counters', counters: ['inserts', 'lookups', 'hits', 'evictions', 'expirations', 'drops', 'passed', 'untracked'], doc: 'classification counters' },
    ],
  };
  static readonly manual = `FlowIPManager([CAPACITY n, BIDIRECTIONAL b, POLICY p, TIMEOUT_TCP s, TIMEOUT_TCP_HANDSHAKE s,
               TIMEOUT_TCP_CLOSED s, TIMEOUT_UDP s, TIMEOUT_OTHER s, SEED n])

Ports: 1 input, 1 or 2 outputs.

Classifies each packet once into a flow (FastClick's flow manager): its 5-tuple (IPv4 or
IPv6; TCP, UDP, SCTP ports; ICMP type pairs as Community-ID maps them; other protocols by
address pair) is looked up in a flow table and inserted when new; the entry index becomes
the \`flow\` annotation and the direction the \`flowdir\` annotation (0 the flow's originator,
1 its reply; always 0 unless BIDIRECTIONAL). Downstream elements (IPRewriter,
FlowIPLoadBalancer) read and write their flow-local fields by that id, without classifying
again. Non-IP packets, and packets passed untracked when the table is full, get flow -1.
Packets dropped by POLICY drop leave on output 1 when it is connected, else are dropped and
counted (\`drops\`).
Non-first fragments carry no ports: put IPReassembler in front to classify them with theirs.

The table's expiry runs on packet timestamps (a capture replays identically): a flow idle
longer than its timeout ends. Its memory is fixed when the configuration starts.

Keywords:
  CAPACITY               most live flows (default 65536): the memory cap
  BIDIRECTIONAL          both directions of a connection are one flow (default true)
  POLICY                 when full: evict (default; least recently seen of the key's buckets),
                         drop (the packet), pass (untracked, flow -1)
  TIMEOUT_TCP            established TCP idle timeout in seconds (default 300)
  TIMEOUT_TCP_HANDSHAKE  TCP with an unfinished handshake (default 5)
  TIMEOUT_TCP_CLOSED     TCP after FINs both ways or a RST (default 10)
  TIMEOUT_UDP            UDP (default 60)
  TIMEOUT_OTHER          every other protocol (default 30)
  SEED                   flow hash seed (default 24301)

Handlers:
  size, capacity, bytes (read)   live flows, the cap, the table's memory in bytes
  inserts, lookups, hits (read)  flows created, packets classified, packets of known flows
  evictions, expirations (read)  flows ended to make room, flows ended idle
  drops, passed (read)           packets dropped / passed untracked because the table was full
  untracked (read)               packets without an IP header (flow -1)
  fields (read)                  the flow-local fields declared by elements, with offsets`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<FlowIPManagerConfig> = {
    keywords: ['CAPACITY', 'BIDIRECTIONAL', 'POLICY', 'TIMEOUT_TCP', 'TIMEOUT_TCP_HANDSHAKE', 'TIMEOUT_TCP_CLOSED', 'TIMEOUT_UDP', 'TIMEOUT_OTHER', 'SEED'],
    schema: z.object({
      CAPACITY: arg.int(1, 1 << 26).default(65536),
      BIDIRECTIONAL: arg.bool().default(true),
      POLICY: z.enum(['evict', 'drop', 'pass']).default('evict'),
      TIMEOUT_TCP: seconds().default(300),
      TIMEOUT_TCP_HANDSHAKE: seconds().default(5),
      TIMEOUT_TCP_CLOSED: seconds().default(10),
      TIMEOUT_UDP: seconds().default(60),
      TIMEOUT_OTHER: seconds().default(30),
      SEED: arg.int(0, 0xffffffff).default(24301),
    }),
  };

  static parseConfig(args: ConfigArgs): FlowIPManagerConfig {
    return parseArgs(args, FlowIPManager.args);
  }

  private tableOrNull: FlowTable | null = null;
  private untracked = 0;
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly info = newPacketInfo();

  /** The flow table (built in initialize, once every element has declared its fields). */
  get table(): FlowTable {
    if (this.tableOrNull === null) this.initialize();
    return this.tableOrNull!;
  }

  override initialize(): void {
    if (this.tableOrNull !== null) return;
    const c = this.config;
    const space = flowSpaceOf(this.env);
    this.tableOrNull = new FlowTable({
      capacity: c.CAPACITY,
      policy: c.POLICY,
      layout: space.layout,
      seed: c.SEED,
      timeouts: { tcp: c.TIMEOUT_TCP, tcpHandshake: c.TIMEOUT_TCP_HANDSHAKE, tcpClosed: c.TIMEOUT_TCP_CLOSED, udp: c.TIMEOUT_UDP, other: c.TIMEOUT_OTHER },
    });
    space.registerTable(this.name, this.tableOrNull);
  }

  process(batch: PacketBatch): ElementOutput {
    const t = this.table;
    const n = batch.count;
    const flow = batch.anno('flow');
    const dir = batch.anno('flowdir');
    const data = batch.data;
    const key = this.key;
    const info = this.info;
    const bidi = this.config.BIDIRECTIONAL;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const start = batch.offset[i];
      const end = start + batch.length[i];
      const ip = ipHeaderOffset(data, start, batch.length[i], batch.linkType);
      if (ip < 0 || !parseIpPacket(data, ip, end, info, key, 0)) {
        flow[i] = -1;
        dir[i] = 0;
        this.untracked++;
        continue;
      }
      const reversed = bidi ? canonicalizeKey(key, 0) : false;
      const e = t.classify(key, 0, reversed, batch.tsSec[i], batch.tsNsec[i], info.tcpFlags);
      flow[i] = e;
      dir[i] = e >= 0 && t.lastReply ? 1 : 0;
      if (e === FLOW_DROPPED) dropped++;
    }
    if (dropped === 0) return [batch];
    // Without output 1 the policy's drops end here: counted, never lost.
    if (this.noutputs < 2) this.ledger.drop('table_full', dropped);
    const ports = new Int32Array(n);
    for (let i = 0; i < n; i++) ports[i] = flow[i] === FLOW_DROPPED ? 1 : 0;
    const [kept, drops] = batch.split(ports, 2);
    return this.noutputs > 1 ? [kept, drops] : [kept];
  }

  override structureImage(name: string): Uint32Array | undefined {
    return name === 'flows' ? this.table.image : undefined;
  }

  override handlers(): HandlerTable {
    const c = () => this.table.counters;
    return {
      size: counterHandler(() => c().size, 'live flows'),
      capacity: counterHandler(() => this.table.capacity, 'most live flows (the memory cap)'),
      bytes: counterHandler(() => this.table.bytes, 'bytes of the flow table image'),
      inserts: counterHandler(() => c().inserts, 'flows created'),
      lookups: counterHandler(() => c().lookups, 'packets classified'),
      hits: counterHandler(() => c().hits, 'packets of known flows'),
      evictions: counterHandler(() => c().evictions, 'flows ended to make room'),
      expirations: counterHandler(() => c().expirations, 'flows ended after their idle timeout'),
      drops: counterHandler(() => c().drops_full, 'packets dropped because the table was full'),
      passed: counterHandler(() => c().passed_full, 'packets passed untracked because the table was full'),
      untracked: counterHandler(() => this.untracked, 'packets without an IP header'),
      fields: { read: () => this.table.layout.describe(), doc: 'flow-local fields: owner.name type @word' },
    };
  }

  override summary(): Record<string, number> {
    const c = this.table.counters;
    return { size: c.size, inserts: c.inserts, lookups: c.lookups, hits: c.hits, evictions: c.evictions, expirations: c.expirations, drops: c.drops_full, passed: c.passed_full, untracked: this.untracked };
  }
}
