/**
 * One fresh process of the `ab` bench section, run against either tree: it loads the runtime
 * from the tree named on its command line (ROOT/dist), so the baseline tree and this one run
 * the same script and the same configuration text, each through its own Router. Only the
 * runtime's public entry (Router.fromText, initialize, run, cleanup) is used, which every
 * tree since the baseline has.
 *   node dist/bench/ab-child.js ROOT CONFIG [BATCH]
 * Prints one JSON line: { setupMs, runMs, packets, maxRssBytes }: setupMs from the config text
 * to an initialized router (route tables loaded), runMs the run phase, peak RSS (VmHWM).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { peakRss } from './peak-rss.js';

interface RouterLike {
  initialize(): Promise<void>;
  run(): Promise<{ packetsIn: number }>;
  cleanup(): Promise<void>;
}

interface RouterClass {
  fromText(text: string, file: string, library: unknown, opts: { batchSize: number; maxInFlight: number; log: { info: (m: string) => void; warn: (m: string) => void } }): RouterLike;
}

async function load(root: string, rel: string, name: string): Promise<unknown> {
  const mod = (await import(pathToFileURL(path.join(root, 'dist', rel)).href)) as Record<string, unknown>;
  if (mod[name] === undefined) throw new Error(`ab-child: ${root}/dist/${rel} exports no ${name}`);
  return mod[name];
}

async function main(): Promise<void> {
  const [root, config, batch] = process.argv.slice(2);
  if (root === undefined || config === undefined) throw new Error('usage: ab-child ROOT CONFIG [BATCH]');
  const Router = (await load(root, 'core/router.js', 'Router')) as RouterClass;
  const library = await load(root, 'elements/index.js', 'elementLibrary');
  if (typeof Router.fromText !== 'function') throw new Error(`ab-child: ${root}'s Router has no fromText`);
  const t0 = performance.now();
  const r = Router.fromText(readFileSync(config, 'utf8'), config, library, {
    batchSize: batch === undefined ? 1024 : Number(batch),
    maxInFlight: 8,
    log: { info: () => undefined, warn: (m) => process.stderr.write(`warning: ${m}\n`) },
  });
  await r.initialize();
  const t1 = performance.now();
  const s = await r.run();
  const t2 = performance.now();
  await r.cleanup();
  process.stdout.write(`${JSON.stringify({ setupMs: t1 - t0, runMs: t2 - t1, packets: s.packetsIn, maxRssBytes: peakRss() })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`ab-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
