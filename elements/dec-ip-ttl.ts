/**
 * DecIPTTL([OFFSET], keyword OFFSET)
 *
 * Ports: 1 input, 1 or 2 outputs.
 *
 * Decrements the TTL of the IPv4 header at OFFSET (default 0; put CheckIPHeader first) and
 * updates the header checksum incrementally (RFC 1624 equation 3, the same result as a full
 * recompute). A packet whose TTL is 0 or 1 has expired: it goes to output 1 when that is
 * connected (to answer with ICMP time exceeded), else it is dropped; either way it is counted
 * in `drops` and left unchanged. A packet too short to hold a TTL and checksum
 * (< OFFSET + 12 bytes) is dropped and counted in `truncated`.
 *
 * Handlers:
 *   count (read)         packets decremented and passed to output 0
 *   drops (read)         expired packets
 *   truncated (read)     packets too short to hold the fields
 *   reset_counts (write) zero the counters
 */
import { z } from 'zod';
import { ClassifyElement } from '../core/element-helpers/classify-element.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { actionHandler, counterHandler } from './lib/handler-helpers.js';
import { checksumAfterTtlDecrement } from '../core/net/ip-checksum.js';

export interface DecIPTTLConfig {
  OFFSET: number;
}

const PASS = 0;
const EXPIRED = 1;
const TRUNCATED = -1;

export class DecIPTTL extends ClassifyElement<DecIPTTLConfig> {
  static readonly className = 'DecIPTTL';
  static readonly ports = { inputs: '1', outputs: '1-2' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'drops', 'truncated'], doc: 'packets decremented, expired and truncated' },
    ],
  };
  static readonly manual = `DecIPTTL([OFFSET], keyword OFFSET)

Ports: 1 input, 1 or 2 outputs.

Decrements the TTL of the IPv4 header at OFFSET (default 0; put CheckIPHeader first) and
updates the header checksum incrementally (RFC 1624 equation 3, the same result as a full
recompute). A packet whose TTL is 0 or 1 has expired: it goes to output 1 when that is
connected (to answer with ICMP time exceeded), else it is dropped; either way it is counted
in \`drops\` and left unchanged. A packet too short to hold a TTL and checksum
(< OFFSET + 12 bytes) is dropped and counted in \`truncated\`.

Handlers:
  count (read)         packets decremented and passed to output 0
  drops (read)         expired packets
  truncated (read)     packets too short to hold the fields
  reset_counts (write) zero the counters`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<DecIPTTLConfig> = { positional: ['OFFSET'], keywords: ['OFFSET'], schema: z.object({ OFFSET: arg.int(0, 65535).default(0) }) };

  static parseConfig(args: ConfigArgs): DecIPTTLConfig {
    return parseArgs(args, DecIPTTL.args);
  }

  private passed = 0;
  private expired = 0;
  private truncated = 0;

  /** Output 0 (decremented), 1 (expired; dropped without a second output) or dropped (truncated). */
  protected classify(batch: PacketBatch, ports: Int32Array): number {
    const n = batch.count;
    const data = batch.data;
    const off = batch.offset;
    const len = batch.length;
    const o = this.config.OFFSET;
    let expired = 0;
    let truncated = 0;
    for (let i = 0; i < n; i++) {
      if (len[i] < o + 12) {
        ports[i] = TRUNCATED;
        truncated++;
        continue;
      }
      const p = off[i] + o;
      const ttl = data[p + 8];
      if (ttl <= 1) {
        ports[i] = EXPIRED;
        expired++;
        continue;
      }
      data[p + 8] = ttl - 1;
      const c = checksumAfterTtlDecrement((data[p + 10] << 8) | data[p + 11]);
      data[p + 10] = c >>> 8;
      data[p + 11] = c & 0xff;
      ports[i] = PASS;
    }
    this.passed += n - expired - truncated;
    this.expired += expired;
    this.truncated += truncated;
    this.ledger.drop('truncated', truncated);
    // Expired packets leave on output 1 when it is connected; otherwise they are dropped.
    if (this.noutputs < 2) this.ledger.drop('expired', expired);
    return expired + truncated;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.passed, 'packets decremented and passed'),
      drops: counterHandler(() => this.expired, 'packets whose TTL expired'),
      truncated: counterHandler(() => this.truncated, 'packets too short to hold TTL and checksum'),
      reset_counts: actionHandler(() => {
        this.passed = 0;
        this.expired = 0;
        this.truncated = 0;
      }, 'zero the counters'),
    };
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.passed, drops: this.expired, truncated: this.truncated });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.passed = c.count;
    this.expired = c.drops;
    this.truncated = c.truncated;
  }

  override summary(): Record<string, number> {
    return { count: this.passed, drops: this.expired, truncated: this.truncated };
  }
}
