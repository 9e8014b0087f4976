/**
 * One fresh process of the `datapath` bench section, so that its time and peak memory are its own.
 * Prints one JSON line: { ms, maxRssBytes, imageBytes?, packets?, pps? }.
 *   node dist/bench/datapath-child.js gunzip FILE        read and gunzip the route file, nothing else
 *   node dist/bench/datapath-child.js load FILE          route file -> multi-FIB image (loadRouteFile + build)
 *   node dist/bench/datapath-child.js router CONFIG [BATCH]   Router.fromText(CONFIG file), initialize, run, cleanup
 *                                                      (batch size default 1024); also prints the run phase's pps
 * `ms` is the time of the work itself, from just before it to just after (Node's start is not in it).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Router } from '../core/router.js';
import { elementLibrary } from '../elements/index.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';

/**
 * This process's peak resident set (VmHWM). Not process.resourceUsage().maxRSS: Linux keeps
 * ru_maxrss across execve, so a child spawned by a big parent reports the parent's peak.
 */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const [mode, file, batch] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: datapath-child gunzip|load|router FILE');
  const t0 = performance.now();
  let imageBytes: number | undefined;
  let packets: number | undefined;
  let pps: number | undefined;
  if (mode === 'gunzip') {
    imageBytes = gunzipSync(readFileSync(file)).byteLength;
  } else if (mode === 'load') {
    const fib = multiFibFromLoaded([loadRouteFile(file, { syntheticNextHops: 64 })]);
    imageBytes = fib.memory().bytes;
  } else if (mode === 'router') {
    const r = Router.fromText(readFileSync(file, 'utf8'), file, elementLibrary, { batchSize: batch === undefined ? 1024 : Number(batch), maxInFlight: 8, log: { info: () => undefined, warn: (m) => process.stderr.write(`warning: ${m}\n`) } });
    await r.initialize();
    const s = await r.run();
    await r.cleanup();
    packets = s.packetsIn;
    pps = s.packetsPerSecond;
  } else throw new Error(`datapath-child: unknown mode ${mode}`);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ms, maxRssBytes: peakRss(), imageBytes, packets, pps })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`datapath-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
