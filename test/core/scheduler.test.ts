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
