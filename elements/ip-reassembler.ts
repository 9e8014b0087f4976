/**
 * IPReassembler([TIMEOUT s, MEMORY bytes])
 *
 * Ports: 1 input, 1 output.
 *
 * Reassembles IPv4 and IPv6 fragments (any link type FromDump reads: Ethernet with VLAN tags,
 * raw IP, Linux SLL), in any order and interleaved, so a FlowIPManager downstream classifies
 * whole datagrams with their ports. Non-fragments pass unchanged (a batch without fragments
 * passes as it is). Fragments are held; the one that completes a datagram is replaced by the
 * whole packet: the first fragment's link and IP headers (IPv4 total length, flags and header
 * checksum fixed; IPv6 Fragment header removed and payload length fixed) and every payload
 * byte, with the completing fragment's timestamp and packet id.
 *
 * Overlap policy: overlapping fragments with identical bytes are accepted (overlap_identical);
 * overlapping fragments whose bytes disagree, or that disagree about the datagram's length,
 * drop the whole datagram, its held fragments and any later ones until its timeout
 * (overlap_conflict, length_conflict: teardrop-style attacks produce nothing). Fragments
 * ending past 65535 bytes drop as oversize; bad headers or a non-final fragment whose length is
 * not a multiple of 8 as malformed.
 *
 * Keywords:
 *   TIMEOUT   seconds of packet time a datagram may wait for its fragments (default 30)
 *   MEMORY    most bytes held in incomplete datagrams (default 4194304); over it the oldest
 *             datagrams are dropped (memory)
 *
 * Handlers:
 *   fragments (read)        fragments seen
 *   datagrams (read)        datagrams reassembled and emitted
 *   consumed (read)         fragments that went into emitted datagrams
 *   held (read)             fragments held now in incomplete datagrams
 *   pending (read)          incomplete datagrams now
 *   bytes_held (read)       bytes held now
 *   overlap_identical (read)  fragments that overlapped with identical bytes (accepted)
 *   drops (read)            fragments dropped, all reasons
 *   drops_malformed, drops_oversize, drops_overlap_conflict, drops_length_conflict,
 *   drops_timeout, drops_memory, drops_incomplete (read)   fragments dropped per reason
 *                           (incomplete: still waiting when the stream ended)
 *
 * Accounting: fragments = consumed + held + drops; packets out = packets in - fragments + datagrams.
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import { ANNOTATIONS, DEFAULT_HEADROOM, PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { ipHeaderOffset } from '../core/flows/flow-key.js';
import { COMPLETE, IPReassembly, PASS, REASSEMBLY_DROP_REASONS } from '../core/flows/ip-reassembly.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface IPReassemblerConfig {
  TIMEOUT: number;
  MEMORY: number;
}

export class IPReassembler extends Element<IPReassemblerConfig> {
  static readonly className = 'IPReassembler';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'packets', name: 'fragments', doc: 'fragments of incomplete datagrams, held as bytes until their datagram completes, times out or is evicted' },
      { kind: 'counters', name: 'counters', counters: ['fragments', 'datagrams', 'consumed', 'overlap_identical', 'drops'], doc: 'fragments seen, datagrams built, drops' },
    ],
  };
  static readonly manual = `IPReassembler([TIMEOUT s, MEMORY bytes])

Ports: 1 input, 1 output.

Reassembles IPv4 and IPv6 fragments (any link type FromDump reads: Ethernet with VLAN tags,
raw IP, Linux SLL), in any order and interleaved, so a FlowIPManager downstream classifies
whole datagrams with their ports. Non-fragments pass unchanged (a batch without fragments
passes as it is). Fragments are held; the one that completes a datagram is replaced by the
whole packet: the first fragment's link and IP headers (IPv4 total length, flags and header
checksum fixed; IPv6 Fragment header removed and payload length fixed) and every payload
byte, with the completing fragment's timestamp and packet id.

Overlap policy: overlapping fragments with identical bytes are accepted (overlap_identical);
overlapping fragments whose bytes disagree, or that disagree about the datagram's length,
drop the whole datagram, its held fragments and any later ones until its timeout
(overlap_conflict, length_conflict: teardrop-style attacks produce nothing). Fragments
ending past 65535 bytes drop as oversize; bad headers or a non-final fragment whose length is
not a multiple of 8 as malformed.

Keywords:
  TIMEOUT   seconds of packet time a datagram may wait for its fragments (default 30)
  MEMORY    most bytes held in incomplete datagrams (default 4194304); over it the oldest
            datagrams are dropped (memory)

Handlers:
  fragments (read)        fragments seen
  datagrams (read)        datagrams reassembled and emitted
  consumed (read)         fragments that went into emitted datagrams
  held (read)             fragments held now in incomplete datagrams
  pending (read)          incomplete datagrams now
  bytes_held (read)       bytes held now
  overlap_identical (read)  fragments that overlapped with identical bytes (accepted)
  drops (read)            fragments dropped, all reasons
  drops_malformed, drops_oversize, drops_overlap_conflict, drops_length_conflict,
  drops_timeout, drops_memory, drops_incomplete (read)   fragments dropped per reason
                          (incomplete: still waiting when the stream ended)

Accounting: fragments = consumed + held + drops; packets out = packets in - fragments + datagrams.`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<IPReassemblerConfig> = {
    keywords: ['TIMEOUT', 'MEMORY'],
    schema: z.object({
      TIMEOUT: z.coerce.number().positive().max(86400).default(30),
      MEMORY: arg.int(1024, 2 ** 40).default(4 << 20),
    }),
  };

  static parseConfig(args: ConfigArgs): IPReassemblerConfig {
    return parseArgs(args, IPReassembler.args);
  }

  readonly reassembly = new IPReassembly({ timeout: this.config.TIMEOUT, memory: this.config.MEMORY });

  /** Fragments held now: the accounting's `held`. */
  override heldPackets(): number {
    return this.reassembly.held;
  }

  /** End of stream: fragments of datagrams that can no longer complete are dropped and counted. */
  override flush(): ElementOutput {
    this.reassembly.dropIncomplete();
    this.book();
    return [];
  }

  process(batch: PacketBatch): ElementOutput {
    const out = this.reassemble(batch);
    this.book();
    return out;
  }

  /**
   * Brings the books up to the reassembly's own counters (both only grow, so the difference is
   * what happened since the last call): fragments that went into a datagram are consumed, each
   * datagram is a packet made here (it leaves in its last fragment's place), and dropped
   * fragments count by reason.
   */
  private book(): void {
    const r = this.reassembly;
    const l = this.ledger;
    l.consume('reassembled', r.consumed - (l.consumed.reassembled ?? 0));
    l.create('datagrams', r.datagrams - (l.created.datagrams ?? 0));
    for (const k of REASSEMBLY_DROP_REASONS) l.drop(k, r.drops[k] - (l.dropped[k] ?? 0));
  }

  private reassemble(batch: PacketBatch): ElementOutput {
    const r = this.reassembly;
    const n = batch.count;
    let keep: Uint8Array | null = null;
    let done: Map<number, Uint8Array> | null = null;
    for (let i = 0; i < n; i++) {
      const start = batch.offset[i];
      const ip = ipHeaderOffset(batch.data, start, batch.length[i], batch.linkType);
      if (ip < 0) continue;
      const res = r.push(batch.data, start, start + batch.length[i], ip, batch.tsSec[i] + batch.tsNsec[i] * 1e-9);
      if (res === PASS) continue;
      if (keep === null) keep = new Uint8Array(n).fill(1);
      if (res === COMPLETE) (done ??= new Map()).set(i, r.completed!);
      else keep[i] = 0;
    }
    if (keep === null) return [batch];
    if (done === null) {
      batch.filterInPlace(keep);
      return [batch];
    }
    return [rebuild(batch, keep, done)];
  }

  override handlers(): HandlerTable {
    const r = this.reassembly;
    const table: HandlerTable = {
      fragments: counterHandler(() => r.fragments, 'fragments seen'),
      datagrams: counterHandler(() => r.datagrams, 'datagrams reassembled'),
      consumed: counterHandler(() => r.consumed, 'fragments that went into emitted datagrams'),
      held: counterHandler(() => r.held, 'fragments held now'),
      pending: counterHandler(() => r.pendingCount, 'incomplete datagrams now'),
      bytes_held: counterHandler(() => r.bytesHeld, 'bytes held now'),
      overlap_identical: counterHandler(() => r.overlapIdentical, 'fragments overlapping with identical bytes'),
      drops: counterHandler(() => REASSEMBLY_DROP_REASONS.reduce((s, k) => s + r.drops[k], 0), 'fragments dropped, all reasons'),
    };
    for (const k of REASSEMBLY_DROP_REASONS) table[`drops_${k}`] = counterHandler(() => r.drops[k], `fragments dropped: ${k}`);
    return table;
  }

  override summary(): Record<string, number> {
    const r = this.reassembly;
    const out: Record<string, number> = { fragments: r.fragments, datagrams: r.datagrams, held: r.held };
    for (const k of REASSEMBLY_DROP_REASONS) if (r.drops[k] > 0) out[`drops_${k}`] = r.drops[k];
    return out;
  }
}

/** A new batch: kept packets copied, completed datagrams in place of their last fragment. */
function rebuild(batch: PacketBatch, keep: Uint8Array, done: Map<number, Uint8Array>): PacketBatch {
  const H = DEFAULT_HEADROOM;
  let bytes = 0;
  let count = 0;
  for (let i = 0; i < batch.count; i++) {
    if (keep[i] === 0) continue;
    count++;
    bytes += H + (done.get(i)?.length ?? batch.length[i]);
  }
  const out = new PacketBatch({ seq: batch.seq, capacity: count, data: new Uint8Array(bytes), linkType: batch.linkType });
  const annos = ANNOTATIONS.filter((a) => batch.hasAnno(a)).map((a) => [batch.anno(a), out.anno(a)] as const);
  let pos = 0;
  for (let i = 0; i < batch.count; i++) {
    if (keep[i] === 0) continue;
    const j = out.count++;
    const whole = done.get(i);
    const bytesOf = whole ?? batch.data.subarray(batch.offset[i], batch.offset[i] + batch.length[i]);
    out.data.set(bytesOf, pos + H);
    out.base[j] = pos;
    out.offset[j] = pos + H;
    out.length[j] = bytesOf.length;
    out.wireLength[j] = whole ? whole.length : batch.wireLength[i];
    out.id[j] = batch.id[i];
    out.tsSec[j] = batch.tsSec[i];
    out.tsNsec[j] = batch.tsNsec[i];
    for (const [src, dst] of annos) dst[j] = src[i];
    pos += H + bytesOf.length;
  }
  return out;
}
