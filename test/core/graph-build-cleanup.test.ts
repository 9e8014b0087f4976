/**
 * A configuration whose build fails part way (an element's constructor throws, a cycle is found
 * after every element was built) cleans up the elements it had already built: some hold resources
 * from construction on (FromDump starts its reader thread there), and a process that goes on
 * (the control socket's reload, a test runner) must not keep them.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Element, eraseConfigType, type ElementClass, type ElementOutput } from '../../core/element.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { parseArgs, type ConfigArgs } from '../../core/config/args.js';
import { Router } from '../../core/router.js';
import type { ElementClassLookup } from '../../core/graph.js';
import { elementLibrary } from '../../elements/index.js';

const cleaned: string[] = [];

/** Passes batches on; records its cleanup. */
class Holder extends Element<Record<string, never>> {
  static readonly className = 'Holder';
  static readonly ports = { inputs: '0-1', outputs: '1' };
  static readonly manual = 'Holder: records its cleanup';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { schema: z.object({}) });
  }
  process(b: PacketBatch): ElementOutput {
    return [b];
  }
  override cleanup(): void {
    cleaned.push(this.name);
  }
}

/** Fails in its constructor, as an element whose table cannot be loaded does. */
class Broken extends Element<Record<string, never>> {
  static readonly className = 'Broken';
  static readonly ports = { inputs: '1', outputs: '1' };
  static readonly manual = 'Broken: its constructor throws';
  static parseConfig(a: ConfigArgs) {
    return parseArgs(a, { schema: z.object({}) });
  }
  constructor(...args: ConstructorParameters<typeof Element<Record<string, never>>>) {
    super(...args);
    throw new Error('cannot load its table');
  }
  process(b: PacketBatch): ElementOutput {
    return [b];
  }
}

const testClasses: ElementClass<unknown>[] = [eraseConfigType(Holder), eraseConfigType(Broken)];
const lookup: ElementClassLookup = {
  find: (n) => testClasses.find((c) => c.className === n) ?? elementLibrary.find(n),
  names: () => [...testClasses.map((c) => c.className), ...elementLibrary.names()],
};
const quiet = { info: () => undefined, warn: () => undefined };

/** Cleanups run asynchronously after the failed build: wait for them, not for a lucky moment. */
async function cleanedBy(count: number): Promise<string[]> {
  for (let i = 0; i < 100 && cleaned.length < count; i++) await new Promise((r) => setImmediate(r));
  return [...cleaned].sort();
}

describe('a failed build cleans up the elements it built', () => {
  it('when a later element throws in its constructor', async () => {
    cleaned.length = 0;
    expect(() => Router.fromText('a :: Holder -> b :: Holder -> c :: Broken -> Discard;', 'cfg.click', lookup, { log: quiet })).toThrow(/cannot load its table/);
    expect(await cleanedBy(2)).toEqual(['a', 'b']);
  });

  it('when the graph has a cycle (every element built first)', async () => {
    cleaned.length = 0;
    expect(() => Router.fromText('a :: Holder; b :: Holder; a -> b -> a;', 'cfg.click', lookup, { log: quiet })).toThrow(/cycle/);
    expect(await cleanedBy(2)).toEqual(['a', 'b']);
  });

  it('and a build that succeeds cleans up nothing by itself', async () => {
    cleaned.length = 0;
    Router.fromText('a :: Holder -> Discard;', 'cfg.click', lookup, { log: quiet });
    await cleanedBy(1);
    expect(cleaned).toEqual([]);
  });
});
