/**
 * ClassifyElement (FastClick's ClassifyElement): an element that only chooses an output for
 * each packet. The subclass's `classify` writes one output index per packet into a scratch
 * column (outside 0..outputs-1: dropped) and says how many packets do not go to output 0; the
 * helper does the rest, with no per-packet allocation:
 *   - none moved: the batch itself leaves on output 0 (no split, no copy);
 *   - one output: the others are dropped by compacting the batch in place;
 *   - several: one sub-batch per output (PacketBatch.split, order kept).
 * `splitByPorts` is the same step for elements that cannot extend this class (an async
 * process, as FlowHash's offloaded hash).
 */
import { Element, type ElementOutput } from '../element.js';
import type { PacketBatch } from '../packet-batch.js';
import { ScratchInt32 } from './scratch.js';

/** Outputs for `batch` given a port per packet, `moved` of them not on port 0, over `nports` outputs. */
export function splitByPorts(batch: PacketBatch, ports: Int32Array, moved: number, nports: number): ElementOutput {
  if (moved === 0) {
    if (nports <= 1) return [batch];
    const out: ElementOutput = new Array<PacketBatch | null>(nports).fill(null);
    out[0] = batch;
    return out;
  }
  if (nports <= 1) {
    // filterInPlace keeps non-zero marks: port 0 becomes 1, every other port 0.
    for (let i = 0; i < batch.count; i++) ports[i] = ports[i] === 0 ? 1 : 0;
    batch.filterInPlace(ports);
    return [batch];
  }
  return batch.split(ports, nports);
}

export abstract class ClassifyElement<C = unknown> extends Element<C> {
  private readonly portColumn = new ScratchInt32();

  /**
   * Write the output of packet i to ports[i] for i in 0..batch.count-1 (a negative or too large
   * index drops the packet) and return how many packets are not sent to output 0.
   */
  protected abstract classify(batch: PacketBatch, ports: Int32Array): number;

  /** Outputs the split is over: the connected ones by default. */
  protected splitOutputs(): number {
    return this.noutputs;
  }

  process(batch: PacketBatch): ElementOutput {
    const ports = this.portColumn.get(batch.count);
    const moved = this.classify(batch, ports);
    return splitByPorts(batch, ports, moved, this.splitOutputs());
  }
}
