/**
 * SimpleElement (FastClick's SimpleElement): an element that acts on every packet in place and
 * sends the whole batch to output 0. A subclass writes either the per-batch action over the
 * columns (`action`: the fast form, one tight loop the subclass owns, what the hot elements
 * use) or the per-packet function (`actOn(batch, i)`: the short form, one call per packet).
 * Neither allocates per packet; the batch object itself is the output.
 */
import { Element, type ElementOutput } from '../element.js';
import type { PacketBatch } from '../packet-batch.js';

export abstract class SimpleElement<C = unknown> extends Element<C> {
  /** The per-batch action; by default `actOn` for each packet. */
  protected action(batch: PacketBatch): void {
    for (let i = 0; i < batch.count; i++) this.actOn(batch, i);
  }

  /** The per-packet function, for subclasses that do not override `action`. */
  protected actOn(_batch: PacketBatch, _index: number): void {
    throw new Error(`${this.name}: a SimpleElement overrides action(batch) or actOn(batch, i)`);
  }

  process(batch: PacketBatch): ElementOutput {
    this.action(batch);
    return [batch];
  }
}
