/**
 * Queue([CAPACITY], keywords CAPACITY, BURST)
 *
 * Ports: 1 input, 1 output.
 *
 * A FIFO in the push-batch model. Each arriving batch is appended while there is room (at
 * most CAPACITY packets held; the excess at the batch's tail is dropped and counted, as a
 * full Click Queue drops arrivals), then up to BURST packets leave from the head as one
 * output batch (same sequence number as the arriving batch). Without BURST the queue drains
 * every tick, so it only bounds batch sizes; with a small BURST it holds packets across ticks
 * and `length`/`highwater_length` become meaningful. At end of stream `flush` emits everything
 * still held. Output keeps arrival (packet-id) order.
 *
 * Held packets are copied into the queue's own arena (PacketBatch.concat) so a source that
 * reuses its arena cannot change them; an output batch made of held packets is a fresh copy.
 * When the queue is empty and the whole batch may leave at once, it passes with no copy.
 *
 * CAPACITY: 1..2147483647 packets, default 1000. BURST: 1..2147483647, default unlimited.
 *
 * Handlers:
 *   length (read)            packets held now
 *   highwater_length (read)  most packets held at once (after enqueue, before dequeue)
 *   capacity (read/write)    the capacity; shrinking below length keeps the held packets
 *                            and refuses arrivals until the queue is below it
 *   drops (read)             packets refused because the queue was full
 *   reset_counts (write)     zero drops; highwater_length becomes length
 */
import { StateError, statePart, type ElementDeclaration, type ElementState } from '../core/element-state.js';
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { actionHandler, counterHandler, parseHandlerValue } from './lib/handler-helpers.js';

export interface QueueConfig {
  CAPACITY: number;
  /** Packets released per tick; undefined drains everything each tick. */
  BURST?: number;
}

const countSchema = arg.int(1, 2 ** 31 - 1);
const schema = z.object({ CAPACITY: countSchema.default(1000), BURST: countSchema.optional() });

interface Segment {
  batch: PacketBatch;
  start: number;
  end: number;
}

export class Queue extends Element<QueueConfig> {
  static readonly className = 'Queue';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'packets', name: 'held', doc: 'packets held, in arrival order' },
      { kind: 'counters', name: 'counters', counters: ['highwater_length', 'drops'], doc: 'most packets held at once, and packets refused' },
      { kind: 'settings', name: 'settings', settings: ['capacity'], doc: 'the capacity, writable by handler' },
    ],
  };
  static readonly manual = `Queue([CAPACITY], keywords CAPACITY, BURST)

Ports: 1 input, 1 output.

A FIFO in the push-batch model. Each arriving batch is appended while there is room (at
most CAPACITY packets held; the excess at the batch's tail is dropped and counted, as a
full Click Queue drops arrivals), then up to BURST packets leave from the head as one
output batch (same sequence number as the arriving batch). Without BURST the queue drains
every tick, so it only bounds batch sizes; with a small BURST it holds packets across ticks
and \`length\`/\`highwater_length\` become meaningful. At end of stream \`flush\` emits everything
still held. Output keeps arrival (packet-id) order.

Held packets are copied into the queue's own arena (PacketBatch.concat) so a source that
reuses its arena cannot change them; an output batch made of held packets is a fresh copy.
When the queue is empty and the whole batch may leave at once, it passes with no copy.

CAPACITY: 1..2147483647 packets, default 1000. BURST: 1..2147483647, default unlimited.

Handlers:
  length (read)            packets held now
  highwater_length (read)  most packets held at once (after enqueue, before dequeue)
  capacity (read/write)    the capacity; shrinking below length keeps the held packets
                           and refuses arrivals until the queue is below it
  drops (read)             packets refused because the queue was full
  reset_counts (write)     zero drops; highwater_length becomes length`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<QueueConfig> = { positional: ['CAPACITY'], keywords: ['CAPACITY', 'BURST'], schema };

  static parseConfig(args: ConfigArgs): QueueConfig {
    return parseArgs(args, Queue.args);
  }

  private capacity = this.config.CAPACITY;
  private readonly burst = this.config.BURST ?? Infinity;
  private readonly segments: Segment[] = [];
  private held = 0;
  private highwater = 0;
  private dropped = 0;

  get length(): number {
    return this.held;
  }

  override heldPackets(): number {
    return this.held;
  }

  process(batch: PacketBatch): ElementOutput {
    const n = batch.count;
    const accepted = Math.min(n, Math.max(0, this.capacity - this.held));
    this.dropped += n - accepted;
    this.ledger.drop('queue_full', n - accepted);
    this.highwater = Math.max(this.highwater, this.held + accepted);
    if (this.held === 0 && accepted <= this.burst) {
      // Tail drop without copying: the refused packets are the batch's last ones.
      batch.count = accepted;
      return [accepted > 0 ? batch : null];
    }
    if (accepted > 0) this.segments.push({ batch, start: 0, end: accepted });
    this.held += accepted;
    const out = this.release(Math.min(this.burst, this.held), batch.seq, batch.linkType);
    this.ownTail(batch);
    return [out];
  }

  override flush(seq: number): ElementOutput {
    if (this.held === 0) return [];
    return [this.release(this.held, seq, this.segments[0].batch.linkType)];
  }

  /** A copy of every held packet, in order, in one batch of its own arena (null when empty). */
  private copyHeld(): PacketBatch | null {
    if (this.held === 0) return null;
    const parts: PacketBatch[] = [];
    for (const seg of this.segments) {
      const part = seg.batch.emptyLike(seg.end - seg.start);
      for (let j = seg.start; j < seg.end; j++) part.copyPacketFrom(seg.batch, j);
      parts.push(part);
    }
    const out = PacketBatch.concat(this.segments[0].batch.seq, parts);
    out.linkType = this.segments[0].batch.linkType;
    return out;
  }

  /** Held packets (a copy: the exporter keeps its own), counters and the run-time capacity. */
  override exportState(): ElementState {
    return this.stateHeader({
      held: { kind: 'packets', batch: this.copyHeld() },
      counters: { kind: 'counters', values: { highwater_length: this.highwater, drops: this.dropped } },
      settings: { kind: 'settings', values: { capacity: this.capacity } },
    });
  }

  /** Click's SimpleQueue::take_state: refused unless this queue is empty and the packets fit its capacity. */
  override importState(state: ElementState): void {
    this.checkStateHeader(state);
    const batch = statePart(this.name, state, 'held', 'packets').batch;
    const counters = statePart(this.name, state, 'counters', 'counters').values;
    const capacity = Number(statePart(this.name, state, 'settings', 'settings').values.capacity);
    if (this.held > 0) throw new StateError(this.name, `this queue already holds ${this.held} packets`);
    const n = batch?.count ?? 0;
    if (!Number.isInteger(capacity) || capacity < 1) throw new StateError(this.name, `capacity ${capacity} is not a packet count`);
    if (n > capacity) throw new StateError(this.name, `${n} held packets exceed the capacity ${capacity}`);
    this.capacity = capacity;
    this.highwater = counters.highwater_length ?? 0;
    this.dropped = counters.drops ?? 0;
    if (batch !== null && n > 0) {
      // Copied again: the same state may be imported twice, and downstream edits packets in place.
      const rest = batch.emptyLike(n);
      for (let j = 0; j < n; j++) rest.copyPacketFrom(batch, j);
      const own = PacketBatch.concat(batch.seq, [rest]);
      own.linkType = batch.linkType;
      this.segments.push({ batch: own, start: 0, end: n });
      this.held = n;
    }
  }

  /** Take `k` packets from the head into one fresh batch. */
  private release(k: number, seq: number, linkType: number): PacketBatch | null {
    if (k <= 0) return null;
    const parts: PacketBatch[] = [];
    let left = k;
    while (left > 0) {
      const seg = this.segments[0];
      const t = Math.min(left, seg.end - seg.start);
      const part = seg.batch.emptyLike(t);
      for (let j = seg.start; j < seg.start + t; j++) part.copyPacketFrom(seg.batch, j);
      parts.push(part);
      seg.start += t;
      left -= t;
      if (seg.start === seg.end) this.segments.shift();
    }
    this.held -= k;
    const out = PacketBatch.concat(seq, parts);
    out.linkType = parts[0]?.linkType ?? linkType;
    return out;
  }

  /** Copy what is still held of the arriving batch into the queue's own arena. */
  private ownTail(batch: PacketBatch): void {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.batch !== batch) return;
    const rest = batch.emptyLike(last.end - last.start);
    for (let j = last.start; j < last.end; j++) rest.copyPacketFrom(batch, j);
    const own = PacketBatch.concat(batch.seq, [rest]);
    own.linkType = batch.linkType;
    this.segments[this.segments.length - 1] = { batch: own, start: 0, end: own.count };
  }

  override handlers(): HandlerTable {
    return {
      length: counterHandler(() => this.held, 'packets held now'),
      highwater_length: counterHandler(() => this.highwater, 'most packets held at once'),
      capacity: {
        read: () => String(this.capacity),
        write: (v) => {
          this.capacity = parseHandlerValue('capacity', countSchema, v);
        },
        doc: 'maximum packets held (shrinking keeps held packets)',
      },
      drops: counterHandler(() => this.dropped, 'packets refused because the queue was full'),
      reset_counts: actionHandler(() => {
        this.dropped = 0;
        this.highwater = this.held;
      }, 'zero drops; highwater_length becomes length'),
    };
  }

  override summary(): Record<string, number> {
    return { length: this.held, highwater_length: this.highwater, capacity: this.capacity, drops: this.dropped };
  }
}
