import { describe, expect, it } from 'vitest';
import { Semaphore, WaitQueue } from '../../core/async/semaphore.js';

/** Lets every already-settled continuation run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('Semaphore', () => {
  it('admits at most `permits` holders and hands permits over in arrival order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    let holding = 0;
    let most = 0;
    const gates = Array.from({ length: 6 }, () => {
      let open!: () => void;
      const p = new Promise<void>((r) => (open = r));
      return { p, open };
    });
    const runs = gates.map((g, i) =>
      s.use(async () => {
        order.push(i);
        holding++;
        most = Math.max(most, holding);
        await g.p;
        holding--;
      }),
    );
    await settle();
    expect(order).toEqual([0, 1]);
    expect(s.inUse).toBe(2);
    expect(s.waiting).toBe(4);
    gates[1].open();
    await settle();
    expect(order).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(2);
    expect(s.inUse).toBe(0);
  });

  it('releases the permit when the task throws', async () => {
    const s = new Semaphore(1);
    await expect(s.use(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(s.tryAcquire()).toBe(true);
    expect(s.tryAcquire()).toBe(false);
    s.release();
    expect(s.inUse).toBe(0);
  });

  it('a later acquire cannot overtake a waiter', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const got: string[] = [];
    const a = s.acquire().then(() => got.push('a'));
    s.release();
    // The permit went to 'a'; a fresh tryAcquire gets nothing.
    expect(s.tryAcquire()).toBe(false);
    await a;
    expect(got).toEqual(['a']);
    s.release();
  });

  it('rejects bad permit counts and unmatched releases', () => {
    expect(() => new Semaphore(0)).toThrow(/positive integer/);
    expect(() => new Semaphore(1).release()).toThrow(/without a matching acquire/);
  });
});

describe('WaitQueue', () => {
  it('until() resolves once its condition holds after a wake-up', async () => {
    const q = new WaitQueue();
    let n = 0;
    let done = false;
    const p = q.until(() => n >= 3).then(() => (done = true));
    for (let i = 0; i < 3; i++) {
      await settle();
      expect(done).toBe(false);
      n++;
      q.wakeAll();
    }
    await p;
    expect(done).toBe(true);
    expect(q.waiting).toBe(0);
  });

  it('wakeOne wakes the oldest waiter only', async () => {
    const q = new WaitQueue();
    const woke: number[] = [];
    const ps = [0, 1, 2].map((i) => q.wait().then(() => woke.push(i)));
    q.wakeOne();
    await settle();
    expect(woke).toEqual([0]);
    q.wakeAll();
    await Promise.all(ps);
    expect(woke).toEqual([0, 1, 2]);
  });
});
