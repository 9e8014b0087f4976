/**
 * Packet accounting (core/accounting.ts): the books of each element, the equation for the
 * elements that drop, consume, copy and hold packets, the `accounting` handler, and proof that
 * the shared assertion (test/support/accounting.ts) fails when an element loses a packet
 * silently or invents one.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Element, eraseConfigType, type ElementClass, type ElementOutput } from '../../core/element.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { arg, parseArgs, type ConfigArgs } from '../../core/config/args.js';
import { Router } from '../../core/router.js';
import type { ElementClassLookup } from '../../core/graph.js';
import { elementLibrary } from '../../elements/index.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { accountingProblems, expectBalanced } from '../support/accounting.js';

/** Loses the last packet of every batch; reports it through the ledger only when REPORT is true. */
class Leaky extends Element<{ REPORT: boolean }> {
  static readonly className = 'Leaky';
  static readonly ports = { inputs: '1', outputs: '1' };
  static readonly manual = 'Leaky(REPORT): loses one packet per batch';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { positional: ['REPORT'], schema: z.object({ REPORT: arg.bool().default(false) }) });
  }
  process(b: PacketBatch): ElementOutput {
    b.count -= 1;
    if (this.config.REPORT) this.ledger.drop('test_loss', 1);
    return [b];
  }
}

/** Sends every batch on to output 0 and, without saying so, a second time on output 1. */
class Doubler extends Element<Record<string, never>> {
  static readonly className = 'Doubler';
  static readonly ports = { inputs: '1', outputs: '2' };
  static readonly manual = 'Doubler';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { schema: z.object({}) });
  }
  process(b: PacketBatch): ElementOutput {
    return [b, sameCopy(b)];
  }
}

function sameCopy(b: PacketBatch): PacketBatch {
  const c = b.emptyLike(b.count);
  for (let i = 0; i < b.count; i++) c.copyPacketFrom(b, i);
  return c;
}

const testClasses: ElementClass<unknown>[] = [eraseConfigType(Leaky), eraseConfigType(Doubler)];
const lookup: ElementClassLookup = {
  find: (n) => testClasses.find((c) => c.className === n) ?? elementLibrary.find(n),
  names: () => [...testClasses.map((c) => c.className), ...elementLibrary.names()],
};
const quiet = { info: () => undefined, warn: () => undefined };
const EXAMPLE = path.join(PCAP_DIR, 'pcapplusplus/example.pcap');

async function run(text: string, batchSize = 100): Promise<Router> {
  const r = Router.fromText(text, 'acct.click', lookup, { log: quiet, batchSize, maxInFlight: 4 });
  await r.initialize();
  await r.run();
  await r.cleanup();
  return r;
}

const books = (r: Router, name: string) => r.accounting().find((a) => a.name === name)!;

describe('packet accounting', () => {
  it('catches an element that loses packets silently, and names it', async () => {
    const r = await run(`FromDump(FILE "${EXAMPLE}") -> leak :: Leaky -> Discard;`);
    const problems = accountingProblems(r);
    // example.pcap has 4631 packets: 47 batches of 100, one packet lost from each.
    expect(problems).toEqual([expect.stringMatching(/^leak \(Leaky\): 47 packets unaccounted/)]);
    expect(() => expectBalanced(r)).toThrow(/leak \(Leaky\): 47 packets unaccounted/);
    expect(() => expectBalanced(r.summary())).toThrow(/leak \(Leaky\)/);
    expect(await r.handler('leak.accounting').read!()).toMatch(/^balanced no \(47 unaccounted\)$/m);
  });

  it('balances the same element once it reports the loss by reason', async () => {
    const r = await run(`FromDump(FILE "${EXAMPLE}") -> leak :: Leaky(true) -> Discard;`);
    expectBalanced(r);
    expect(books(r, 'leak').dropped).toEqual({ test_loss: 47 });
    expect(books(r, 'leak').out).toEqual([4631 - 47]);
  });

  it('catches an element that invents packets', async () => {
    const r = await run(`FromDump(FILE "${EXAMPLE}") -> d :: Doubler; d[0] -> Discard; d[1] -> Discard;`);
    expect(accountingProblems(r)).toEqual([expect.stringMatching(/^d \(Doubler\): -4631 packets unaccounted/)]);
  });

  it('Tee: the copies are created packets; a Queue with a small BURST holds packets until flush', async () => {
    const r = await run(`FromDump(FILE "${EXAMPLE}") -> t :: Tee(3); t[0] -> q :: Queue(50, BURST 7) -> a :: Discard; t[1] -> Discard; t[2] -> Discard;`);
    expectBalanced(r);
    expect(books(r, 't')).toMatchObject({ in: [4631], created: { copies: 2 * 4631 }, out: [4631, 4631, 4631], balanced: true });
    const q = books(r, 'q');
    // BURST 7 per batch of 100 cannot keep up: the queue fills, refuses the rest, and flush empties it.
    expect(q.dropped.queue_full).toBeGreaterThan(0);
    expect(q.out[0] + q.dropped.queue_full).toBe(4631);
    expect(q.held).toBe(0);
    expect(books(r, 'a').consumed).toEqual({ discarded: q.out[0] });
    const text = await r.handler('t.accounting').read!();
    expect(text).toBe('in 4631\ncreated copies=9262\nout 4631 4631 4631\ndropped -\nconsumed -\nheld 0\nbalanced yes\n');
  });

  it('the run summary carries the books of every element, in graph order', async () => {
    const r = await run(`s :: FromDump(FILE "${EXAMPLE}") -> c :: Classifier(12/0800 23/06) -> Discard;`);
    const s = r.summary();
    expect(s.accounting.map((a) => a.name)).toEqual(s.elements.map((e) => e.name));
    expect(s.accounting[0]).toMatchObject({ name: 's', className: 'FromDump', in: [], produced: 4631, out: [4631], balanced: true });
    const c = books(r, 'c');
    expect(c.in[0]).toBe(4631);
    // example.pcap: 4492 TCP and 139 UDP packets; UDP matches no pattern.
    expect(c.out).toEqual([4492]);
    expect(c.dropped).toEqual({ no_match: 139 });
    expectBalanced(s);
  });
});
