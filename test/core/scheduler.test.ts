/**
 * The scheduler's guarantees with test elements whose timing is adversarial: a source of
 * numbered packets, an async element that finishes batches out of order, a splitter and a
 * recording sink. Output must be every packet exactly once, in order, within the in-flight bound.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Element, eraseConfigType, type ElementClass, type ElementOutput, type SourceElement } from '../../core/element.js';
import { PacketBatch } from '../../core/packet-batch.js';
import { parseArgs, arg, type ConfigArgs } from '../../core/config/args.js';
import { Router } from '../../core/router.js';
import { Scheduler } from '../../core/scheduler.js';
import type { ElementClassLookup } from '../../core/graph.js';
import { expectBalanced } from '../support/accounting.js';

let inFlightNow = 0;
let inFlightMax = 0;

class NumberSource extends Element<{ N: number }> implements SourceElement {
  static readonly className = 'NumberSource';
  static readonly ports = { inputs: '0', outputs: '1' };
  static readonly manual = 'NumberSource(N): N one-byte packets';
  static readonly isSource = true;
  private sent = 0;
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { positional: ['N'], schema: z.object({ N: arg.int(0) }) });
  }
  /** A source receives no batches. */
  process(batch: PacketBatch): ElementOutput {
    return [batch];
  }
  nextBatch(seq: number, max: number): PacketBatch | null {
    if (this.sent >= this.config.N) return null;
    const n = Math.min(max, this.config.N - this.sent);
    const b = new PacketBatch({ seq, capacity: n, data: new Uint8Array(n) });
    for (let i = 0; i < n; i++) {
      b.id[i] = this.sent + i;
      b.offset[i] = i;
      b.length[i] = 1;
      b.base[i] = i;
      b.data[i] = (this.sent + i) & 255;
    }
    b.count = n;
    this.sent += n;
    inFlightNow++;
    inFlightMax = Math.max(inFlightMax, inFlightNow);
    return b;
  }
}

/** Finishes each batch after a random delay, several at once: outputs must still leave in order. */
class Jitter extends Element<{ C: number }> {
  static readonly className = 'Jitter';
  static readonly ports = { inputs: '1', outputs: '1' };
  static readonly manual = 'Jitter(CONCURRENCY)';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { positional: ['C'], schema: z.object({ C: arg.int(1) }) });
  }
  override concurrency = this.config.C;
  async process(b: PacketBatch): Promise<ElementOutput> {
    await new Promise((r) => setTimeout(r, Math.random() * 4));
    return [b];
  }
}

/** Even ids to output 0, odd to output 1. */
class Parity extends Element<Record<string, never>> {
  static readonly className = 'Parity';
  static readonly ports = { inputs: '1', outputs: '2' };
  static readonly manual = 'Parity';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { schema: z.object({}) });
  }
  process(b: PacketBatch): ElementOutput {
    const ports = new Int32Array(b.count);
    for (let i = 0; i < b.count; i++) ports[i] = b.id[i] % 2;
    return b.split(ports, 2);
  }
}

const recorded: number[] = [];
class Record_ extends Element<Record<string, never>> {
  static readonly className = 'Record';
  static readonly ports = { inputs: '1', outputs: '0' };
  static readonly manual = 'Record';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { schema: z.object({}) });
  }
  process(b: PacketBatch): ElementOutput {
    for (let i = 0; i < b.count; i++) {
      expect(b.data[b.offset[i]]).toBe(b.id[i] & 255);
      recorded.push(b.id[i]);
    }
    this.ledger.consume('recorded', b.count);
    return [];
  }
}

const classes: ElementClass<unknown>[] = [eraseConfigType(NumberSource), eraseConfigType(Jitter), eraseConfigType(Parity), eraseConfigType(Record_)];
const lookup: ElementClassLookup = { find: (n) => classes.find((c) => c.className === n), names: () => classes.map((c) => c.className) };
const quiet = { info: () => undefined, warn: () => undefined };

async function run(text: string, batchSize: number, maxInFlight: number): Promise<number[]> {
  recorded.length = 0;
  inFlightNow = 0;
  inFlightMax = 0;
  const r = Router.fromText(text, 't.click', lookup, {
    batchSize,
    maxInFlight,
    log: quiet,
    onBatchDone: () => {
      inFlightNow--;
    },
  });
  await r.initialize();
  const s = await r.run();
  expect(s.packetsIn).toBe(recorded.length);
  expectBalanced(r);
  expectBalanced(s);
  return [...recorded];
}

describe('scheduler', () => {
  it('delivers every packet once and in order through overlapping async work', async () => {
    const out = await run('NumberSource(5000) -> Jitter(4) -> Jitter(1) -> Record', 37, 6);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(inFlightMax).toBeLessThanOrEqual(6);
  });

  it('merges split paths back into packet order', async () => {
    const out = await run('s :: NumberSource(3001); p :: Parity; r :: Record; s -> p; p[0] -> Jitter(3) -> r; p[1] -> Jitter(2) -> Jitter(1) -> r', 64, 4);
    expect(out).toEqual(Array.from({ length: 3001 }, (_, i) => i));
  });

  it('handles an empty source and batch size 1', async () => {
    expect(await run('NumberSource(0) -> Record', 8, 2)).toEqual([]);
    expect(await run('NumberSource(9) -> Jitter(3) -> Record', 1, 3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

/**
 * A source that hands each batch over on a later event-loop turn (as SoakSource and NIC-driven
 * sources do) and, at that moment, records how many failure waits the scheduler holds.
 */
let probe: (() => number) | null = null;
const waitersSeen: number[] = [];
class ProbeSource extends Element<{ N: number; HANG: number }> implements SourceElement {
  static readonly className = 'ProbeSource';
  static readonly ports = { inputs: '0', outputs: '1' };
  static readonly manual = 'ProbeSource(N, HANG): N batches of one packet; from batch HANG on, never answers';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { positional: ['N', 'HANG'], schema: z.object({ N: arg.int(0), HANG: arg.int(0) }) });
  }
  process(batch: PacketBatch): ElementOutput {
    return [batch];
  }
  nextBatch(seq: number): Promise<PacketBatch | null> {
    if (seq >= this.config.HANG) return new Promise(() => undefined);
    return new Promise((resolve) =>
      setImmediate(() => {
        if (probe !== null) waitersSeen.push(probe());
        if (seq >= this.config.N) return resolve(null);
        const b = new PacketBatch({ seq, capacity: 1, data: new Uint8Array(1) });
        b.id[0] = seq;
        b.offset[0] = 0;
        b.length[0] = 1;
        b.base[0] = 0;
        b.data[0] = seq & 255;
        b.count = 1;
        resolve(b);
      }),
    );
  }
}

/** Throws on batch FAIL. */
class FailAt extends Element<{ FAIL: number }> {
  static readonly className = 'FailAt';
  static readonly ports = { inputs: '1', outputs: '1' };
  static readonly manual = 'FailAt(SEQ)';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { positional: ['FAIL'], schema: z.object({ FAIL: arg.int(0) }) });
  }
  process(b: PacketBatch): ElementOutput {
    if (b.seq === this.config.FAIL) throw new Error(`boom at ${b.seq}`);
    return [b];
  }
}

describe('scheduler failure waits', () => {
  const probeClasses: ElementClass<unknown>[] = [...classes, eraseConfigType(ProbeSource), eraseConfigType(FailAt)];
  const probeLookup: ElementClassLookup = { find: (n) => probeClasses.find((c) => c.className === n), names: () => probeClasses.map((c) => c.className) };

  async function scheduler(text: string): Promise<Scheduler> {
    const r = Router.fromText(text, 't.click', probeLookup, { log: quiet });
    await r.initialize();
    return new Scheduler(r.graph, { batchSize: 1, maxInFlight: 4 });
  }

  // The leak the soak found: every wait raced a single long-lived `failed` promise, which kept a
  // reaction (and the wait's result) per wait for as long as the run lasted. Each wait now holds
  // one entry of its own, released when it settles: the count must not grow with the batches.
  it('holds one failure wait at a time, however many batches run', async () => {
    const s = await scheduler('ProbeSource(2000, 1000000) -> Record');
    recorded.length = 0;
    waitersSeen.length = 0;
    probe = () => s.pendingFailureWaiters;
    try {
      const stats = await s.run();
      expect(stats.packetsIn).toBe(2000);
    } finally {
      probe = null;
    }
    expect(recorded).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    // Seen while the scheduler awaited the source: exactly that one wait, from the first batch to the last.
    expect(waitersSeen.length).toBe(2001);
    expect(new Set(waitersSeen)).toEqual(new Set([1]));
    expect(s.pendingFailureWaiters).toBe(0);
  });

  it('still ends the run when an element fails while the source never answers', async () => {
    const s = await scheduler('ProbeSource(100, 3) -> FailAt(1) -> Record');
    recorded.length = 0;
    await expect(s.run()).rejects.toThrow(/FailAt.*batch 1: boom at 1/);
    expect(s.pendingFailureWaiters).toBe(0);
  });
});
