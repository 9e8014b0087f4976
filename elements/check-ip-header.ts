/**
 * CheckIPHeader([OFFSET], keywords OFFSET, BADSRC, CHECKSUM, VERBOSE, DETAILS)
 *
 * Ports: 1 input, 1 or 2 outputs.
 *
 * Expects IPv4 packets whose header starts OFFSET bytes in (default 0: after Strip(14)).
 * Checks, in Click's order, and counts a drop under the first reason that applies:
 *   tiny packet            fewer than OFFSET + 20 bytes (truncated captures land here)
 *   bad IP version         version field is not 4
 *   bad IP header length   IHL below 5 (20 bytes)
 *   bad IP length          total length above the bytes present, or below the header length
 *   bad IP checksum        header checksum does not verify (CHECKSUM false skips this)
 *   bad source address     source address is in BADSRC
 * Good packets go to output 0 with the `dst` annotation set (the destination address's int32
 * bit pattern) and are shortened to the IP total length when longer (Ethernet padding).
 * Bad packets go to output 1 when it is connected, else they are dropped.
 *
 * Unlike Click, the first positional argument is OFFSET (Click's is BADSRC; give it as a keyword).
 *
 * Keywords:
 *   OFFSET    byte offset of the IP header, 0..65535, default 0
 *   BADSRC    space-separated addresses refused as sources, default "255.255.255.255"
 *             (the limited broadcast can never send); BADSRC "" turns the check off
 *   CHECKSUM  verify the header checksum, default true
 *   VERBOSE   log the first bad packet of each reason with its packet index, default false
 *   DETAILS   accepted for Click compatibility; per-reason counts are always kept
 *
 * Handlers:
 *   count (read)         good packets
 *   drops (read)         bad packets (dropped or sent to output 1)
 *   drop_details (read)  one line per reason: count and reason, as Click prints it
 *   reset_counts (write) zero all counters
 */
import { z } from 'zod';
import { ClassifyElement } from '../core/element-helpers/classify-element.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { ipv4ListSchema, readBE32 } from '../core/net/ipv4.js';
import { ipv4HeaderVerifies } from '../core/net/ip-checksum.js';
import { actionHandler, counterHandler } from './lib/handler-helpers.js';

export const CHECK_IP_REASONS = [
  'tiny packet',
  'bad IP version',
  'bad IP header length',
  'bad IP length',
  'bad IP checksum',
  'bad source address',
] as const;
export type CheckIPReason = (typeof CHECK_IP_REASONS)[number];
/** The same reasons as accounting keys (the element's ledger), in the same order. */
const LEDGER_REASONS = ['tiny', 'bad_version', 'bad_header_length', 'bad_length', 'bad_checksum', 'bad_source'] as const;

const TINY = 0;
const BAD_VERSION = 1;
const BAD_HLEN = 2;
const BAD_LEN = 3;
const BAD_CHECKSUM = 4;
const BAD_SRC = 5;

export interface CheckIPHeaderConfig {
  OFFSET: number;
  BADSRC: number[];
  CHECKSUM: boolean;
  VERBOSE: boolean;
  DETAILS: boolean;
}

const schema = z.object({
  OFFSET: arg.int(0, 65535).default(0),
  BADSRC: ipv4ListSchema.default([-1]),
  CHECKSUM: arg.bool().default(true),
  VERBOSE: arg.bool().default(false),
  DETAILS: arg.bool().default(true),
});

export class CheckIPHeader extends ClassifyElement<CheckIPHeaderConfig> {
  static readonly className = 'CheckIPHeader';
  static readonly ports = { inputs: '1', outputs: '1-2' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'drops'], doc: 'good and bad packets, and bad ones per reason (drop_details)' },
    ],
  };
  static readonly manual = `CheckIPHeader([OFFSET], keywords OFFSET, BADSRC, CHECKSUM, VERBOSE, DETAILS)

Ports: 1 input, 1 or 2 outputs.

Expects IPv4 packets whose header starts OFFSET bytes in (default 0: after Strip(14)).
Checks, in Click's order, and counts a drop under the first reason that applies:
  tiny packet            fewer than OFFSET + 20 bytes (truncated captures land here)
  bad IP version         version field is not 4
  bad IP header length   IHL below 5 (20 bytes)
  bad IP length          total length above the bytes present, or below the header length
  bad IP checksum        header checksum does not verify (CHECKSUM false skips this)
  bad source address     source address is in BADSRC
Good packets go to output 0 with the \`dst\` annotation set (the destination address's int32
bit pattern) and are shortened to the IP total length when longer (Ethernet padding).
Bad packets go to output 1 when it is connected, else they are dropped.

Unlike Click, the first positional argument is OFFSET (Click's is BADSRC; give it as a keyword).

Keywords:
  OFFSET    byte offset of the IP header, 0..65535, default 0
  BADSRC    space-separated addresses refused as sources, default "255.255.255.255"
            (the limited broadcast can never send); BADSRC "" turns the check off
  CHECKSUM  verify the header checksum, default true
  VERBOSE   log the first bad packet of each reason with its packet index, default false
  DETAILS   accepted for Click compatibility; per-reason counts are always kept

Handlers:
  count (read)         good packets
  drops (read)         bad packets (dropped or sent to output 1)
  drop_details (read)  one line per reason: count and reason, as Click prints it
  reset_counts (write) zero all counters`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<CheckIPHeaderConfig> = { positional: ['OFFSET'], keywords: ['OFFSET', 'BADSRC', 'CHECKSUM', 'VERBOSE', 'DETAILS'], schema };

  static parseConfig(args: ConfigArgs): CheckIPHeaderConfig {
    return parseArgs(args, CheckIPHeader.args);
  }

  private readonly badSrc = Int32Array.from(this.config.BADSRC);
  private readonly reasonCounts = new Float64Array(CHECK_IP_REASONS.length);
  /** This batch's bad packets per reason (added to the counters and, when dropped, to the ledger). */
  private readonly batchReasons = new Int32Array(CHECK_IP_REASONS.length);
  private readonly logged = new Uint8Array(CHECK_IP_REASONS.length);
  private good = 0;
  private bad = 0;

  /** Output 0 (good) or 1 (bad: dropped without a second output). */
  protected classify(batch: PacketBatch, ports: Int32Array): number {
    const n = batch.count;
    const data = batch.data;
    const off = batch.offset;
    const len = batch.length;
    const dst = batch.anno('dst');
    const o = this.config.OFFSET;
    const checksum = this.config.CHECKSUM;
    const badSrc = this.badSrc;
    const nBadSrc = badSrc.length;
    const reasons = this.batchReasons;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const p = off[i] + o;
      const avail = len[i] - o;
      let reason = -1;
      if (avail < 20) {
        reason = TINY;
      } else {
        const vihl = data[p];
        const hl = (vihl & 15) << 2;
        const ipLen = (data[p + 2] << 8) | data[p + 3];
        if (vihl >> 4 !== 4) reason = BAD_VERSION;
        else if (hl < 20) reason = BAD_HLEN;
        else if (ipLen > avail || ipLen < hl) reason = BAD_LEN;
        else {
          if (checksum && !ipv4HeaderVerifies(data, p, hl)) reason = BAD_CHECKSUM;
          if (reason < 0 && nBadSrc > 0) {
            const src = readBE32(data, p + 12);
            for (let k = 0; k < nBadSrc; k++) if (badSrc[k] === src) reason = BAD_SRC;
          }
          if (reason < 0) {
            dst[i] = readBE32(data, p + 16);
            // Drop link-layer padding so downstream lengths are the IP datagram's.
            if (ipLen < avail) len[i] = o + ipLen;
          }
        }
      }
      if (reason < 0) {
        ports[i] = 0;
      } else {
        ports[i] = 1;
        bad++;
        reasons[reason]++;
        if (this.config.VERBOSE && this.logged[reason] === 0) this.logBad(reason, batch.id[i]);
      }
    }
    this.bad += bad;
    this.good += n - bad;
    if (bad > 0) this.countReasons();
    return bad;
  }

  /** Move this batch's reason counts into the counters; without output 1 the bad packets are drops. */
  private countReasons(): void {
    const dropped = this.noutputs < 2;
    for (let k = 0; k < LEDGER_REASONS.length; k++) {
      const c = this.batchReasons[k];
      if (c === 0) continue;
      this.reasonCounts[k] += c;
      if (dropped) this.ledger.drop(LEDGER_REASONS[k], c);
      this.batchReasons[k] = 0;
    }
  }

  private logBad(reason: number, packetIndex: number): void {
    this.logged[reason] = 1;
    this.env.log.warn(`${this.name}: ${CHECK_IP_REASONS[reason]} (packet ${packetIndex})`);
  }

  /** Drops by reason, keyed by Click's reason text. */
  dropDetails(): Record<CheckIPReason, number> {
    const out = {} as Record<CheckIPReason, number>;
    CHECK_IP_REASONS.forEach((r, k) => (out[r] = this.reasonCounts[k]));
    return out;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.good, 'good packets'),
      drops: counterHandler(() => this.bad, 'bad packets (dropped or sent to output 1)'),
      drop_details: {
        read: () => CHECK_IP_REASONS.map((r, k) => `${String(this.reasonCounts[k]).padStart(15)} packets due to: ${r}\n`).join(''),
        doc: 'bad packets per reason',
      },
      reset_counts: actionHandler(() => {
        this.good = 0;
        this.bad = 0;
        this.reasonCounts.fill(0);
        this.logged.fill(0);
      }, 'zero all counters'),
    };
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.good, drops: this.bad, ...Object.fromEntries(Array.from(this.reasonCounts, (v, i) => [`reason${i}`, v])) });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.good = c.count;
    this.bad = c.drops;
    this.reasonCounts.forEach((_v, i) => (this.reasonCounts[i] = c[`reason${i}`] ?? 0));
  }

  override summary(): Record<string, number> {
    return { count: this.good, drops: this.bad, ...this.dropDetails() };
  }
}
