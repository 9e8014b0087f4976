/**
 * One fresh process of the `datapath` bench section, so that its time and peak memory are its own.
 * Prints one JSON line: { ms, maxRssBytes, imageBytes?, packets?, pps? }.
 *   node dist/bench/datapath-child.js gunzip FILE        read and gunzip the route file, nothing else
 *   node dist/bench/datapath-child.js load FILE          route file -> multi-FIB image (loadRouteFile + build)
 *   node dist/bench/datapath-child.js router CONFIG [BATCH]   Router.fromText(CONFIG file), initialize, run, cleanup
 *                                                      (batch size default 1024); also prints the run phase's pps
 *                                                      and `idle`, the share of the run phase the main thread spent
 *                                                      waiting in the event loop (eventLoopUtilization)
 *   node dist/bench/datapath-child.js readloop FILE [CHUNK]  fs.readSync the whole file into one reused CHUNK-byte
 *                                                      buffer (default 4 MiB): the plain read loop; `bytes` read
 * `ms` is the time of the work itself, from just before it to just after (Node's start is not in it);
 * router and readloop also print `cpuMs`, the CPU time of the run phase or the loop (all threads).
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { Router } from '../core/router.js';
import { elementLibrary } from '../elements/index.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import { peakRss } from './peak-rss.js';

async function main(): Promise<void> {
  const [mode, file, batch] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: datapath-child gunzip|load|router FILE');
  const t0 = performance.now();
  let imageBytes: number | undefined;
  let packets: number | undefined;
  let pps: number | undefined;
  let idle: number | undefined;
  let bytes: number | undefined;
  /** CPU time (every thread: user + system) of the run phase or read loop alone. */
  let cpuMs: number | undefined;
  const cpuSince = (c0: NodeJS.CpuUsage): number => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  if (mode === 'gunzip') {
    imageBytes = gunzipSync(readFileSync(file)).byteLength;
  } else if (mode === 'load') {
    const fib = multiFibFromLoaded([loadRouteFile(file, { syntheticNextHops: 64 })], undefined, { consume: true });
    imageBytes = fib.memory().bytes;
  } else if (mode === 'router') {
    const r = Router.fromText(readFileSync(file, 'utf8'), file, elementLibrary, { batchSize: batch === undefined ? 1024 : Number(batch), maxInFlight: 8, log: { info: () => undefined, warn: (m) => process.stderr.write(`warning: ${m}\n`) } });
    await r.initialize();
    const elu = performance.eventLoopUtilization();
    const c0 = process.cpuUsage();
    const s = await r.run();
    cpuMs = cpuSince(c0);
    idle = 1 - performance.eventLoopUtilization(elu).utilization;
    await r.cleanup();
    packets = s.packetsIn;
    pps = s.packetsPerSecond;
  } else if (mode === 'readloop') {
    const buf = new Uint8Array(batch === undefined ? 4 << 20 : Number(batch));
    const c0 = process.cpuUsage();
    const fd = openSync(file, 'r');
    let pos = 0;
    for (let n = readSync(fd, buf, 0, buf.length, 0); n > 0; n = readSync(fd, buf, 0, buf.length, pos)) pos += n;
    closeSync(fd);
    cpuMs = cpuSince(c0);
    bytes = pos;
  } else throw new Error(`datapath-child: unknown mode ${mode}`);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ms, maxRssBytes: peakRss(), imageBytes, packets, pps, idle, bytes, cpuMs })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`datapath-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
