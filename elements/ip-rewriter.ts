/**
 * IPRewriter(INPUTSPEC [, MANAGER name])
 *
 * Ports: 1 input, 1 or more outputs.
 *
 * A NAPT in the spirit of Click's IPRewriter, for IPv4, on top of a FlowIPManager (which must
 * be BIDIRECTIONAL, its default): the first packet of a flow is mapped by INPUTSPEC, and the
 * mapping lives in the flow's flow-local storage. The reply travels with the translated tuple,
 * so the rewriter inserts that tuple into the flow table as an alias flow holding the same
 * mapping: replies are classified straight to it and rewritten back. IP, TCP and UDP checksums
 * are updated incrementally (RFC 1624). Other protocols (ICMP, SCTP) get their addresses
 * rewritten and keep their ports.
 *
 * INPUTSPEC (a subset of Click's syntax):
 *   pattern SADDR SPORT DADDR DPORT FOUTPUT ROUTPUT
 *       each of SADDR, SPORT, DADDR, DPORT is `-` (keep) or a value; SPORT may be a range
 *       `LO-HI`, from which a free source port is taken (the next unused one, round robin).
 *       Forward packets leave on FOUTPUT, rewritten replies on ROUTPUT.
 *   pass N   every packet leaves unchanged on output N
 *   drop     every packet is dropped
 *
 * Keywords:
 *   MANAGER   the FlowIPManager whose flows to use (needed only when there are several)
 *
 * Packets without a flow (flow -1), not IPv4, whose source ports ran out, or for which the
 * table had no room for the alias are dropped and counted.
 *
 * Handlers:
 *   mappings (read)        connections mapped
 *   forward, reply (read)  packets rewritten in each direction
 *   passed (read)          packets passed unchanged (pass, or an alias seen forward)
 *   drops (read)           packets dropped, all reasons; drops_untracked, drops_not_ipv4,
 *                          drops_no_ports, drops_table_full, drops_spec (read) per reason
 */
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput } from '../core/element.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { KEY_HAS_PORTS, KEY_WORDS, PROTO_TCP, PROTO_UDP, ipHeaderOffset, newPacketInfo, parseIpPacket } from '../core/flows/flow-key.js';
import { flowSpaceOf } from '../core/flows/flow-space.js';
import { NAT_FIELD_DECLS, NatBinder, ROLE_ALIAS, ROLE_FORWARD, ROLE_NONE, rewriteIPv4, type NatFields } from '../core/flows/nat-binding.js';
import { parseIPv4 } from '../core/net/ipv4.js';
import { counterHandler } from './lib/handler-helpers.js';
import { quoteUserText } from '../core/quote-user-text.js';

export type RewriteSpec =
  | { kind: 'pattern'; saddr: number | null; sportLo: number | null; sportHi: number; daddr: number | null; dport: number | null; foutput: number; routput: number }
  | { kind: 'pass'; output: number }
  | { kind: 'drop' };

export interface IPRewriterConfig {
  INPUTSPEC: RewriteSpec;
  MANAGER?: string;
}

/** Parse an INPUTSPEC; the message says what is wrong. */
export function parseRewriteSpec(text: string): RewriteSpec | string {
  const w = text.trim().split(/\s+/);
  const port = (s: string): number | null => (/^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : null);
  if (w[0] === 'drop' && w.length === 1) return { kind: 'drop' };
  if (w[0] === 'pass' && w.length === 2 && port(w[1]) !== null) return { kind: 'pass', output: Number(w[1]) };
  if (w[0] !== 'pattern') return `expected 'pattern SADDR SPORT DADDR DPORT FOUTPUT ROUTPUT', 'pass N' or 'drop', got ${quoteUserText(text)}`;
  if (w.length !== 7) return `pattern needs SADDR SPORT DADDR DPORT FOUTPUT ROUTPUT (6 words), got ${w.length - 1}`;
  const addr = (s: string, what: string): number | null | string => (s === '-' ? null : (parseIPv4(s) ?? `${what}: expected an IPv4 address or -, got ${quoteUserText(s)}`));
  const saddr = addr(w[1], 'SADDR');
  if (typeof saddr === 'string') return saddr;
  const daddr = addr(w[3], 'DADDR');
  if (typeof daddr === 'string') return daddr;
  let sportLo: number | null = null;
  let sportHi = 0;
  if (w[2] !== '-') {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(w[2]);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) return `SPORT: expected a port, a range LO-HI or -, got ${quoteUserText(w[2])}`;
    sportLo = lo;
    sportHi = hi;
  }
  const dport = w[4] === '-' ? null : port(w[4]);
  if (w[4] !== '-' && dport === null) return `DPORT: expected a port or -, got ${quoteUserText(w[4])}`;
  const fo = port(w[5]);
  const ro = port(w[6]);
  if (fo === null || ro === null) return `FOUTPUT and ROUTPUT must be output numbers, got ${quoteUserText(w[5])} ${quoteUserText(w[6])}`;
  return { kind: 'pattern', saddr, sportLo, sportHi, daddr, dport, foutput: fo, routput: ro };
}

const specSchema = z.string().transform((s, ctx) => {
  const r = parseRewriteSpec(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

const REASONS = ['untracked', 'not_ipv4', 'no_ports', 'table_full', 'spec'] as const;
type DropReason = (typeof REASONS)[number];

export class IPRewriter extends Element<IPRewriterConfig> {
  static readonly className = 'IPRewriter';
  static readonly ports = { inputs: '1', outputs: '1-' };
  /** Kernels it runs and state it owns. Its mappings are flow-local fields in its FlowIPManager's table (they move with it). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      {
        kind: 'counters',
        name: 'counters',
        counters: ['mappings', 'forward', 'reply', 'passed', 'drops_untracked', 'drops_not_ipv4', 'drops_no_ports', 'drops_table_full', 'drops_spec'],
        doc: 'connections mapped, packets rewritten each way or passed, drops by reason',
      },
    ],
  };
  static readonly manual = `IPRewriter(INPUTSPEC [, MANAGER name])

Ports: 1 input, 1 or more outputs.

A NAPT in the spirit of Click's IPRewriter, for IPv4, on top of a FlowIPManager (which must
be BIDIRECTIONAL, its default): the first packet of a flow is mapped by INPUTSPEC, and the
mapping lives in the flow's flow-local storage. The reply travels with the translated tuple,
so the rewriter inserts that tuple into the flow table as an alias flow holding the same
mapping: replies are classified straight to it and rewritten back. IP, TCP and UDP checksums
are updated incrementally (RFC 1624). Other protocols (ICMP, SCTP) get their addresses
rewritten and keep their ports.

INPUTSPEC (a subset of Click's syntax):
  pattern SADDR SPORT DADDR DPORT FOUTPUT ROUTPUT
      each of SADDR, SPORT, DADDR, DPORT is \`-\` (keep) or a value; SPORT may be a range
      \`LO-HI\`, from which a free source port is taken (the next unused one, round robin).
      Forward packets leave on FOUTPUT, rewritten replies on ROUTPUT.
  pass N   every packet leaves unchanged on output N
  drop     every packet is dropped

Keywords:
  MANAGER   the FlowIPManager whose flows to use (needed only when there are several)

Packets without a flow (flow -1), not IPv4, whose source ports ran out, or for which the
table had no room for the alias are dropped and counted.

Handlers:
  mappings (read)        connections mapped
  forward, reply (read)  packets rewritten in each direction
  passed (read)          packets passed unchanged (pass, or an alias seen forward)
  drops (read)           packets dropped, all reasons; drops_untracked, drops_not_ipv4,
                         drops_no_ports, drops_table_full, drops_spec (read) per reason`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<IPRewriterConfig> = {
    positional: ['INPUTSPEC'],
    keywords: ['INPUTSPEC', 'MANAGER'],
    schema: z.object({ INPUTSPEC: specSchema, MANAGER: arg.string().optional() }),
  };

  static parseConfig(args: ConfigArgs): IPRewriterConfig {
    return parseArgs(args, IPRewriter.args);
  }

  private readonly fields: NatFields;
  private binder: NatBinder | null = null;
  private nextPort = 0;
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly info = newPacketInfo();
  private mappings = 0;
  private forward = 0;
  private reply = 0;
  private passed = 0;
  /** Packets dropped for `reason`: the ledger's count (packets routed to -1 are recorded there as they drop). */
  private drops(reason: DropReason): number {
    return this.ledger.dropped[reason] ?? 0;
  }

  constructor(init: ElementInit<IPRewriterConfig>) {
    super(init);
    this.fields = flowSpaceOf(this.env).layout.declare(this.name, NAT_FIELD_DECLS) as NatFields;
  }

  process(batch: PacketBatch): ElementOutput {
    const spec = this.config.INPUTSPEC;
    const n = batch.count;
    const out = new Int32Array(n);
    if (spec.kind !== 'pattern') {
      out.fill(spec.kind === 'pass' ? spec.output : -1);
      if (spec.kind === 'pass') this.passed += n;
      else this.ledger.drop('spec', n);
      return batch.split(out, this.noutputs);
    }
    this.binder ??= new NatBinder(flowSpaceOf(this.env).table(this.name, this.config.MANAGER), this.fields);
    const b = this.binder;
    const t = b.table;
    const f = this.fields;
    const flow = batch.anno('flow');
    const dir = batch.anno('flowdir');
    const data = batch.data;
    for (let i = 0; i < n; i++) {
      out[i] = -1;
      const e = flow[i];
      if (e < 0) {
        this.ledger.drop('untracked', 1);
        continue;
      }
      const start = batch.offset[i];
      const end = start + batch.length[i];
      const ip = ipHeaderOffset(data, start, batch.length[i], batch.linkType);
      if (ip < 0 || !parseIpPacket(data, ip, end, this.info, this.key, 0) || this.info.version !== 4) {
        this.ledger.drop('not_ipv4', 1);
        continue;
      }
      const proto = this.info.proto;
      const realPorts = (proto === PROTO_TCP || proto === PROTO_UDP) && (this.key[9] & KEY_HAS_PORTS) !== 0;
      let role = t.get(e, f.role);
      if (role === ROLE_NONE) {
        const g = this.map(e, proto, realPorts, batch.tsSec[i], batch.tsNsec[i]);
        if (g === null) continue;
        role = ROLE_FORWARD;
      }
      const fwd = role === ROLE_FORWARD && dir[i] === 0;
      const back = (role === ROLE_ALIAS && dir[i] === 1) || (role === ROLE_FORWARD && dir[i] === 1 && t.get(e, f.peer) === e);
      if (fwd) {
        rewriteIPv4(data, ip, this.info.l4, this.info.end, proto, t.get(e, f.nSrc), t.get(e, f.nDst), t.get(e, f.nPorts), realPorts);
        b.refreshAlias(e, batch.tsSec[i], batch.tsNsec[i]);
        this.forward++;
        out[i] = spec.foutput;
      } else if (back) {
        const op = t.get(e, f.oPorts);
        rewriteIPv4(data, ip, this.info.l4, this.info.end, proto, t.get(e, f.oDst), t.get(e, f.oSrc), ((op << 16) | (op >>> 16)) >>> 0, realPorts);
        this.reply++;
        out[i] = spec.routput;
      } else {
        this.passed++;
        out[i] = role === ROLE_ALIAS ? spec.foutput : spec.routput;
      }
    }
    return batch.split(out, this.noutputs);
  }

  /** Map new flow e from its first packet's tuple (in this.key): its alias, or null (dropped, counted). */
  private map(e: number, proto: number, realPorts: boolean, sec: number, nsec: number): number | null {
    const spec = this.config.INPUTSPEC;
    if (spec.kind !== 'pattern') return null;
    const b = this.binder!;
    const oSrc = this.key[0];
    const oDst = this.key[4];
    const oPorts = this.key[8];
    const nSrc = spec.saddr ?? oSrc;
    const nDst = spec.daddr ?? oDst;
    let dport = oPorts & 0xffff;
    if (realPorts && spec.dport !== null) dport = spec.dport;
    let nPorts = oPorts;
    const hasPorts = (this.key[9] & KEY_HAS_PORTS) !== 0;
    if (realPorts && spec.sportLo !== null) {
      const span = spec.sportHi - spec.sportLo + 1;
      let found = -1;
      for (let k = 0; k < span; k++) {
        const sport = spec.sportLo + ((this.nextPort + k) % span);
        if (b.free(nSrc, nDst, ((sport << 16) | dport) >>> 0, proto, hasPorts)) {
          found = sport;
          this.nextPort = (this.nextPort + k + 1) % span;
          break;
        }
      }
      if (found < 0) {
        this.ledger.drop('no_ports', 1);
        return null;
      }
      nPorts = ((found << 16) | dport) >>> 0;
    } else if (realPorts) nPorts = ((oPorts & 0xffff0000) | dport) >>> 0;
    const g = b.bind(e, oSrc, oDst, oPorts, nSrc, nDst, nPorts, proto, hasPorts, sec, nsec);
    if (g < 0) {
      this.ledger.drop('table_full', 1);
      return null;
    }
    this.mappings++;
    return g;
  }

  override handlers(): HandlerTable {
    const table: HandlerTable = {
      mappings: counterHandler(() => this.mappings, 'connections mapped'),
      forward: counterHandler(() => this.forward, 'packets rewritten forward'),
      reply: counterHandler(() => this.reply, 'replies rewritten back'),
      passed: counterHandler(() => this.passed, 'packets passed unchanged'),
      drops: counterHandler(() => REASONS.reduce((s, r) => s + this.drops(r), 0), 'packets dropped, all reasons'),
    };
    for (const r of REASONS) table[`drops_${r}`] = counterHandler(() => this.drops(r), `packets dropped: ${r}`);
    return table;
  }

  override summary(): Record<string, number> {
    const s: Record<string, number> = { mappings: this.mappings, forward: this.forward, reply: this.reply, passed: this.passed };
    for (const r of REASONS) if (this.drops(r) > 0) s[`drops_${r}`] = this.drops(r);
    return s;
  }
}
