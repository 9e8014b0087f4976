/**
 * Released PacketBatch objects kept for reuse by a capture reader (PcapReader, the threaded
 * reader): handing a released batch out again allocates nothing, which matters at one batch per
 * few microseconds. At most `MAX_POOLED` are kept; the rest go to the garbage collector.
 */
import { PacketBatch } from '../packet-batch.js';

const MAX_POOLED = 16;

export class BatchPool {
  private readonly batches: PacketBatch[] = [];

  /** A batch object for `n` packets over `data`: a pooled one of capacity n..2n, else new. */
  take(seq: number, n: number, data: Uint8Array, linkType: number): PacketBatch {
    const pool = this.batches;
    let i = pool.length - 1;
    while (i >= 0 && !(pool[i].capacity >= n && pool[i].capacity <= 2 * n)) i--;
    if (i < 0) return new PacketBatch({ seq, capacity: n, data, linkType });
    // Swap-remove: the pool's order does not matter, and this runs every batch.
    const batch = pool[i];
    pool[i] = pool[pool.length - 1];
    pool.pop();
    batch.recycle(seq, data, linkType);
    return batch;
  }

  /** A batch the scheduler has released: kept for `take` while there is room. */
  give(batch: PacketBatch): void {
    if (this.batches.length < MAX_POOLED) this.batches.push(batch);
  }
}
