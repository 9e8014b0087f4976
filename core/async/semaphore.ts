/**
 * The one wait-queue helper: a FIFO `WaitQueue` (wake one or all waiters) and a counting
 * `Semaphore` built on it. The scheduler (room for another sequence), the offload runner
 * (batches in flight), the webgpu ring (free buffer slots) and the fpga simulator (batches
 * queued per structure) all wait through these instead of hand-written resolver arrays.
 */

/** Waiters woken in arrival order; a waiter re-checks its own condition after waking. */
export class WaitQueue {
  private readonly resolvers: (() => void)[] = [];

  /** Resolves at the next wakeOne() that reaches it, or the next wakeAll(). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.resolvers.push(resolve));
  }

  /** Waits until `ready()` holds; checked now and after every wake-up. */
  async until(ready: () => boolean): Promise<void> {
    while (!ready()) await this.wait();
  }

  wakeOne(): void {
    this.resolvers.shift()?.();
  }

  wakeAll(): void {
    const all = this.resolvers.splice(0);
    for (const r of all) r();
  }

  get waiting(): number {
    return this.resolvers.length;
  }
}

/** A counting semaphore with FIFO hand-off: a released permit goes to the longest waiter. */
export class Semaphore {
  private free: number;
  private readonly queue: (() => void)[] = [];

  constructor(readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new Error(`Semaphore: permits must be a positive integer, got ${permits}`);
    this.free = permits;
  }

  /** Takes a permit, waiting for one if none is free. */
  acquire(): Promise<void> {
    if (this.free > 0 && this.queue.length === 0) {
      this.free--;
      return Promise.resolve();
    }
    // The permit is handed over by release(), so a later acquire cannot overtake this one.
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }

  /** Takes a permit only if one is free now. */
  tryAcquire(): boolean {
    if (this.free > 0 && this.queue.length === 0) {
      this.free--;
      return true;
    }
    return false;
  }

  release(): void {
    const next = this.queue.shift();
    if (next !== undefined) next();
    else if (this.free < this.permits) this.free++;
    else throw new Error('Semaphore: release without a matching acquire');
  }

  /** Runs `fn` holding a permit; the permit is released however `fn` ends. */
  async use<T>(fn: () => Promise<T> | T): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Permits held now. */
  get inUse(): number {
    return this.permits - this.free;
  }

  get waiting(): number {
    return this.queue.length;
  }
}
