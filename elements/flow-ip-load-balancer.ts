/**
 * FlowIPLoadBalancer(VIP addr, BACKENDS "addr addr ...", [TABLE_SIZE n, MANAGER name])
 *
 * Ports: 1 input, 1 or 2 outputs.
 *
 * An L4 load balancer (IPv4) over a BIDIRECTIONAL FlowIPManager's flows: a new flow to the VIP
 * is given a backend by Maglev consistent hashing of its 5-tuple, and its destination is
 * rewritten to that backend (ports kept, checksums updated incrementally). The choice is kept
 * in the flow's flow-local storage, so an established flow stays on its backend when the set of
 * backends changes (the `backends` write handler); only new flows see the new Maglev table,
 * which moves few hash buckets. The backend's replies are classified to an alias flow of the
 * translated tuple (as IPRewriter does) and their source rewritten back to the VIP.
 * Forward packets leave on output 0, replies on output 1 (output 0 when there is one output).
 * Packets not to the VIP and not replies pass unchanged on output 0 (counted).
 *
 * Keywords:
 *   VIP          the virtual address clients connect to
 *   BACKENDS     the backends' addresses, separated by spaces
 *   TABLE_SIZE   Maglev table entries, a prime (default 65537)
 *   MANAGER      the FlowIPManager whose flows to use (needed only when there are several)
 *
 * Handlers:
 *   backends (read/write)   the backend set; a write rebuilds the Maglev table for new flows
 *   assigned (read)         flows given a backend
 *   forward, reply (read)   packets rewritten in each direction
 *   passed (read)           packets passed unchanged
 *   drops (read)            packets dropped, every reason; by reason drops_untracked (no flow
 *                           or not IPv4), drops_no_backends, drops_table_full (no room for the
 *                           reply alias)
 *   per_backend (read)      flows assigned per backend, "addr count" lines
 */
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput } from '../core/element.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { KEY_HAS_PORTS, KEY_WORDS, PROTO_TCP, PROTO_UDP, canonicalizeKey, ipHeaderOffset, newPacketInfo, parseIpPacket } from '../core/flows/flow-key.js';
import { flowSpaceOf } from '../core/flows/flow-space.js';
import { NAT_FIELD_DECLS, NatBinder, ROLE_ALIAS, ROLE_FORWARD, ROLE_NONE, rewriteIPv4, type NatFields } from '../core/flows/nat-binding.js';
import { DEFAULT_MAGLEV_SIZE, isPrime, maglevTable } from '../core/flows/maglev.js';
import { flowKeyHash } from '../core/structures/flow-table/flow-table-image.js';
import { formatIPv4, ipv4ListSchema, parseIPv4 } from '../core/net/ipv4.js';
import { counterHandler, parseHandlerValue } from './lib/handler-helpers.js';
import { quoteUserText } from '../core/quote-user-text.js';

export interface FlowIPLoadBalancerConfig {
  VIP: number;
  BACKENDS: number[];
  TABLE_SIZE: number;
  MANAGER?: string;
}

const ipv4Schema = z.string().transform((s, ctx) => {
  const v = parseIPv4(s);
  if (v === null) {
    ctx.addIssue({ code: 'custom', message: `expected an IPv4 address, got ${quoteUserText(s)}` });
    return z.NEVER;
  }
  return v;
});

const LB_DROP_REASONS = ['untracked', 'no_backends', 'table_full'] as const;
type LbDropReason = (typeof LB_DROP_REASONS)[number];

export class FlowIPLoadBalancer extends Element<FlowIPLoadBalancerConfig> {
  static readonly className = 'FlowIPLoadBalancer';
  static readonly ports = { inputs: '1', outputs: '1-2' };
  /** Kernels it runs and state it owns. Each flow's backend is a flow-local field in the FlowIPManager's table (it moves with it). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['assigned', 'forward', 'reply', 'passed', 'drops_untracked', 'drops_no_backends', 'drops_table_full'], doc: 'flows assigned, packets rewritten or passed, drops by reason' },
      { kind: 'settings', name: 'backends', settings: ['backends'], doc: 'the backend list (and its Maglev table), changed at run time by the backends handler' },
    ],
  };
  static readonly manual = `FlowIPLoadBalancer(VIP addr, BACKENDS "addr addr ...", [TABLE_SIZE n, MANAGER name])

Ports: 1 input, 1 or 2 outputs.

An L4 load balancer (IPv4) over a BIDIRECTIONAL FlowIPManager's flows: a new flow to the VIP
is given a backend by Maglev consistent hashing of its 5-tuple, and its destination is
rewritten to that backend (ports kept, checksums updated incrementally). The choice is kept
in the flow's flow-local storage, so an established flow stays on its backend when the set of
backends changes (the \`backends\` write handler); only new flows see the new Maglev table,
which moves few hash buckets. The backend's replies are classified to an alias flow of the
translated tuple (as IPRewriter does) and their source rewritten back to the VIP.
Forward packets leave on output 0, replies on output 1 (output 0 when there is one output).
Packets not to the VIP and not replies pass unchanged on output 0 (counted).

Keywords:
  VIP          the virtual address clients connect to
  BACKENDS     the backends' addresses, separated by spaces
  TABLE_SIZE   Maglev table entries, a prime (default 65537)
  MANAGER      the FlowIPManager whose flows to use (needed only when there are several)

Handlers:
  backends (read/write)   the backend set; a write rebuilds the Maglev table for new flows
  assigned (read)         flows given a backend
  forward, reply (read)   packets rewritten in each direction
  passed (read)           packets passed unchanged
  drops (read)            packets dropped, every reason; by reason drops_untracked (no flow
                          or not IPv4), drops_no_backends, drops_table_full (no room for the
                          reply alias)
  per_backend (read)      flows assigned per backend, "addr count" lines`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<FlowIPLoadBalancerConfig> = {
    positional: ['VIP', 'BACKENDS'],
    keywords: ['VIP', 'BACKENDS', 'TABLE_SIZE', 'MANAGER'],
    schema: z.object({
      VIP: ipv4Schema,
      BACKENDS: ipv4ListSchema,
      TABLE_SIZE: arg.int(3, 1 << 24).refine(isPrime, 'TABLE_SIZE must be a prime').default(DEFAULT_MAGLEV_SIZE),
      MANAGER: arg.string().optional(),
    }),
  };

  static parseConfig(args: ConfigArgs): FlowIPLoadBalancerConfig {
    return parseArgs(args, FlowIPLoadBalancer.args);
  }

  private readonly fields: NatFields;
  private binder: NatBinder | null = null;
  private backends: number[];
  private maglev: Int32Array;
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly canon = new Uint32Array(KEY_WORDS);
  private readonly info = newPacketInfo();
  private readonly perBackend = new Map<number, number>();
  private assigned = 0;
  private forward = 0;
  private reply = 0;
  private passed = 0;
  /** Packets dropped for `reason` (untracked covers packets without a flow or an IPv4 header): the ledger's count. */
  private drops(reason: LbDropReason): number {
    return this.ledger.dropped[reason] ?? 0;
  }

  constructor(init: ElementInit<FlowIPLoadBalancerConfig>) {
    super(init);
    this.fields = flowSpaceOf(this.env).layout.declare(this.name, NAT_FIELD_DECLS) as NatFields;
    this.backends = [...init.config.BACKENDS];
    this.maglev = maglevTable(this.backends.map(formatIPv4), init.config.TABLE_SIZE);
  }

  /** Replace the backend set: new flows use the new Maglev table, established ones keep theirs. */
  setBackends(addrs: readonly number[]): void {
    this.backends = [...addrs];
    this.maglev = maglevTable(this.backends.map(formatIPv4), this.config.TABLE_SIZE);
  }

  process(batch: PacketBatch): ElementOutput {
    this.binder ??= new NatBinder(flowSpaceOf(this.env).table(this.name, this.config.MANAGER), this.fields);
    const b = this.binder;
    const t = b.table;
    const f = this.fields;
    const n = batch.count;
    const out = new Int32Array(n);
    const flow = batch.anno('flow');
    const dir = batch.anno('flowdir');
    const data = batch.data;
    const replyPort = this.noutputs > 1 ? 1 : 0;
    const vip = this.config.VIP >>> 0;
    for (let i = 0; i < n; i++) {
      out[i] = -1;
      const e = flow[i];
      const start = batch.offset[i];
      const ip = e < 0 ? -1 : ipHeaderOffset(data, start, batch.length[i], batch.linkType);
      if (ip < 0 || !parseIpPacket(data, ip, start + batch.length[i], this.info, this.key, 0) || this.info.version !== 4) {
        this.ledger.drop('untracked', 1);
        continue;
      }
      const proto = this.info.proto;
      const realPorts = (proto === PROTO_TCP || proto === PROTO_UDP) && (this.key[9] & KEY_HAS_PORTS) !== 0;
      let role = t.get(e, f.role);
      if (role === ROLE_NONE && dir[i] === 0 && this.key[4] === vip) {
        if (this.backends.length === 0) {
          this.ledger.drop('no_backends', 1);
          continue;
        }
        this.canon.set(this.key);
        canonicalizeKey(this.canon, 0);
        const backend = this.backends[this.maglev[flowKeyHash(this.canon, 0, 0x4d41474c) % this.maglev.length]] >>> 0;
        const g = b.bind(e, this.key[0], vip, this.key[8], this.key[0], backend, this.key[8], proto, (this.key[9] & KEY_HAS_PORTS) !== 0, batch.tsSec[i], batch.tsNsec[i]);
        if (g < 0) {
          this.ledger.drop('table_full', 1);
          continue;
        }
        this.assigned++;
        this.perBackend.set(backend, (this.perBackend.get(backend) ?? 0) + 1);
        role = ROLE_FORWARD;
      }
      if (role === ROLE_FORWARD && dir[i] === 0) {
        rewriteIPv4(data, ip, this.info.l4, this.info.end, proto, t.get(e, f.nSrc), t.get(e, f.nDst), t.get(e, f.nPorts), realPorts);
        b.refreshAlias(e, batch.tsSec[i], batch.tsNsec[i]);
        this.forward++;
        out[i] = 0;
      } else if (role === ROLE_ALIAS && dir[i] === 1) {
        const op = t.get(e, f.oPorts);
        rewriteIPv4(data, ip, this.info.l4, this.info.end, proto, t.get(e, f.oDst), t.get(e, f.oSrc), ((op << 16) | (op >>> 16)) >>> 0, realPorts);
        this.reply++;
        out[i] = replyPort;
      } else {
        this.passed++;
        out[i] = 0;
      }
    }
    return batch.split(out, this.noutputs);
  }

  override handlers(): HandlerTable {
    return {
      backends: {
        read: () => this.backends.map(formatIPv4).join(' '),
        write: (v: string) => this.setBackends(parseHandlerValue('backends', ipv4ListSchema, v)),
        doc: 'the backend set (space-separated addresses); a write rebuilds the Maglev table for new flows',
      },
      assigned: counterHandler(() => this.assigned, 'flows given a backend'),
      forward: counterHandler(() => this.forward, 'packets rewritten to their backend'),
      reply: counterHandler(() => this.reply, 'replies rewritten back to the VIP'),
      passed: counterHandler(() => this.passed, 'packets passed unchanged'),
      drops: counterHandler(() => LB_DROP_REASONS.reduce((n, r) => n + this.drops(r), 0), 'packets dropped, all reasons'),
      drops_untracked: counterHandler(() => this.drops('untracked'), 'packets without a flow or an IPv4 header, dropped'),
      drops_no_backends: counterHandler(() => this.drops('no_backends'), 'new flows to the VIP with no backend configured, dropped'),
      drops_table_full: counterHandler(() => this.drops('table_full'), 'new flows whose reply alias found the flow table full, dropped'),
      per_backend: { read: () => [...this.perBackend].map(([a, c]) => `${formatIPv4(a)} ${c}`).join('\n'), doc: 'flows per backend' },
    };
  }

  override summary(): Record<string, number> {
    return { assigned: this.assigned, forward: this.forward, reply: this.reply, passed: this.passed, drops: LB_DROP_REASONS.reduce((n, r) => n + this.drops(r), 0), drops_untracked: this.drops('untracked'), drops_no_backends: this.drops('no_backends'), drops_table_full: this.drops('table_full') };
  }
}
