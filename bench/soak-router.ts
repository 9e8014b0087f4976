/**
 * The router process of `npm run soak`: SoakSource -> IPLookup(FIB table) -> Counter -> Discard,
 * served on a Unix control socket until `WRITE stop`. Prints the run summary as JSON on stdout.
 * Usage: node dist/bench/soak-router.js SOCKET FIBFILE
 */
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Router } from '../core/router.js';
import { eraseConfigType } from '../core/element.js';
import type { ElementClassLookup } from '../core/graph.js';
import { elementLibrary } from '../elements/index.js';
import { ControlServer } from '../app/control/control-server.js';
import { SoakSource } from './soak-source.js';

async function main(): Promise<void> {
  const [sock, fib] = process.argv.slice(2);
  if (sock === undefined || fib === undefined) throw new Error('usage: soak-router SOCKET FIBFILE');
  const classes: ElementClassLookup = {
    find: (n) => (n === 'SoakSource' ? eraseConfigType(SoakSource) : elementLibrary.find(n)),
    names: () => [...elementLibrary.names(), 'SoakSource'],
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-soak-'));
  const file = path.join(dir, 'soak.click');
  const text = `src :: SoakSource; rt :: IPLookup(FIB ${JSON.stringify(path.resolve(fib))}); src -> rt -> cnt :: Counter -> Discard;\n`;
  writeFileSync(file, text);
  const router = Router.fromText(text, file, classes, { batchSize: 256 });
  await router.initialize();
  const control = new ControlServer(router);
  await control.listen({ path: sock });
  process.stderr.write(`control socket listening on ${sock}\n`);
  const summary = await router.run();
  await router.cleanup();
  await control.close();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`soak-router: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
