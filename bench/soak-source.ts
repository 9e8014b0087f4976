/**
 * SoakSource(COUNT_LIMIT)
 *
 * Ports: no input, 1 output. Source (used by `npm run soak` only; not in the element library).
 *
 * A steady stream of bare IPv4 headers (raw-IP link type) to pseudo-random destinations drawn
 * from a fixed seed, for as long as the run lasts (or LIMIT packets). Each batch is handed
 * over on the next turn of the event loop (setImmediate), as a NIC-driven source would wait
 * for its ring: timers and the control socket are served between batches, which an in-memory
 * replay (FromDump REPEAT) does not guarantee today. Batches are reused once the scheduler
 * releases their sequence (the arena rule, as FromDump does), so the source itself allocates
 * nothing per batch in steady state: memory growth the soak sees is the router's.
 *
 * Handlers: count (read) packets emitted.
 */
import { z } from 'zod';
import { Element, type ElementOutput, type SourceElement } from '../core/element.js';
import { PacketBatch } from '../core/packet-batch.js';
import { parseArgs, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';

export interface SoakSourceConfig {
  LIMIT: number;
}

const SLOT = 32;

export class SoakSource extends Element<SoakSourceConfig> implements SourceElement {
  static readonly className = 'SoakSource';
  static readonly ports = { inputs: '0', outputs: '1' };
  static readonly manual = `SoakSource(LIMIT n)
Ports: no input, 1 output. Bare IPv4 headers to pseudo-random destinations, one batch per event-loop turn.
Handlers: count.`;

  private emitted = 0;
  private state = 0x2545f491;
  /** Batches handed out, by sequence, until the scheduler releases them; then reused (as FromDump does). */
  private readonly out = new Map<number, PacketBatch>();
  private readonly spare: PacketBatch[] = [];

  static parseConfig(args: ConfigArgs): SoakSourceConfig {
    return parseArgs(args, { keywords: ['LIMIT'], schema: z.object({ LIMIT: z.coerce.number().int().min(0).default(Number.MAX_SAFE_INTEGER) }) });
  }

  nextBatch(seq: number, maxPackets: number): Promise<PacketBatch | null> {
    return new Promise((resolve) => setImmediate(() => resolve(this.make(seq, maxPackets))));
  }

  private make(seq: number, maxPackets: number): PacketBatch | null {
    const n = Math.min(maxPackets, this.config.LIMIT - this.emitted);
    if (n <= 0) return null;
    let b = this.spare.pop();
    if (b === undefined || b.capacity < n) b = new PacketBatch({ seq, capacity: maxPackets, data: new Uint8Array(maxPackets * SLOT), linkType: 101 });
    else b.recycle(seq, b.data, 101);
    this.out.set(seq, b);
    const data = b.data;
    for (let i = 0; i < n; i++) {
      // xorshift32: cheap, deterministic destinations over the whole space.
      let x = this.state;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.state = x;
      const off = i * SLOT;
      data[off] = 0x45;
      data[off + 8] = 64;
      data[off + 16] = x >>> 24;
      data[off + 17] = (x >>> 16) & 255;
      data[off + 18] = (x >>> 8) & 255;
      data[off + 19] = x & 255;
      b.offset[i] = off;
      b.base[i] = off;
      b.length[i] = 20;
      b.id[i] = this.emitted++;
      b.count++;
    }
    return b;
  }

  release(seq: number): void {
    for (const [s, b] of this.out) {
      if (s > seq) continue;
      this.out.delete(s);
      this.spare.push(b);
    }
  }

  process(): ElementOutput {
    return [];
  }

  override handlers(): HandlerTable {
    return { count: { read: () => String(this.emitted), doc: 'packets emitted' } };
  }
}
