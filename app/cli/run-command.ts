/** `hetbox run CONFIG`: run a configuration to the end of its input and print what happened. */
import { z } from 'zod';
import { Router, type RunSummary } from '../../core/router.js';
import type { ControlServer } from '../control/control-server.js';
import { controlAddressFlag } from './control-address-flag.js';
import { elementLibrary } from '../../elements/index.js';
import { backendProvider, parseBackendName } from './backend-access.js';
import { disposeBackends } from '../../core/backend-registry.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';
import { fmt } from '../../core/format.js';
import { MigrationScript, parseMigrateFlag } from './migrate-flag.js';
import type { AdaptiveRun } from './adaptive-run.js';

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', short: 'q', default: false },
    control: { type: 'string' },
    linger: { type: 'boolean', default: false },
    backend: { type: 'string' },
    batch: { type: 'string', default: '256' },
    'in-flight': { type: 'string', default: '8' },
    migrate: { type: 'string', multiple: true },
    adapt: { type: 'boolean', default: false },
    'adapt-every': { type: 'string', default: '32' },
    'adapt-threshold': { type: 'string', default: '0.5' },
    'adapt-dwell': { type: 'string', default: '3' },
    'adapt-splits': { type: 'string', default: 'on' },
    costs: { type: 'string' },
    backends: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('expected one CONFIG file');
  const count = z.coerce.number().int().min(1).max(1 << 20);
  const batch = count.safeParse(values.batch);
  const inFlight = count.safeParse(values['in-flight']);
  if (!batch.success) throw new UsageError(`--batch: expected a positive integer, got '${values.batch}'`);
  if (!inFlight.success) throw new UsageError(`--in-flight: expected a positive integer, got '${values['in-flight']}'`);
  const defaultBackend = values.backend !== undefined ? parseBackendName(values.backend) : undefined;
  const controlAddress = values.control !== undefined ? controlAddressFlag(values.control) : undefined;

  const adaptEvery = count.safeParse(values['adapt-every']);
  const adaptDwell = count.safeParse(values['adapt-dwell']);
  const adaptThreshold = z.coerce.number().finite().positive().safeParse(values['adapt-threshold']);
  if (!adaptEvery.success) throw new UsageError(`--adapt-every: expected a positive integer (batches), got '${values['adapt-every']}'`);
  if (!adaptDwell.success) throw new UsageError(`--adapt-dwell: expected a positive integer (samples), got '${values['adapt-dwell']}'`);
  if (!adaptThreshold.success) throw new UsageError(`--adapt-threshold: expected a positive number (0.5: ±50%), got '${values['adapt-threshold']}'`);
  if (values['adapt-splits'] !== 'on' && values['adapt-splits'] !== 'off') throw new UsageError(`--adapt-splits: expected on or off, got '${values['adapt-splits']}'`);
  if (!values.adapt && (values.costs !== undefined || values.backends !== undefined)) throw new UsageError('--costs and --backends are for --adapt (the planner behind it)');
  let adaptive: AdaptiveRun | null = null;

  const script = new MigrationScript((values.migrate ?? []).map(parseMigrateFlag));

  const tty = process.stderr.isTTY === true && !values.json && !values.quiet;
  let lastDraw = 0;
  const router = Router.fromFile(positionals[0], elementLibrary, {
    batchSize: batch.data,
    maxInFlight: inFlight.data,
    defaultBackend,
    backends: backendProvider(),
    onBatchDone: (s) => {
      script.progress(s);
      adaptive?.progress(s);
      if (!tty) return;
      const now = performance.now();
      if (now - lastDraw < 200) return;
      lastDraw = now;
      const secs = (now - s.startedAt) / 1000;
      process.stderr.write(`\r${fmt(s.packetsIn)} packets  ${fmt(s.packetsIn / Math.max(secs, 1e-9))} pkt/s  ${secs.toFixed(1)} s   `);
    },
  });
  script.attach(router);
  let control: ControlServer | null = null;
  const onSignal = (): void => router.stop();
  try {
    await router.initialize();
    if (values.adapt) {
      // Loaded only here: the planner (and the plan command's @viz-js) is no part of a plain run's start-up.
      const { startAdaptiveRun } = await import('./adaptive-start.js');
      adaptive = await startAdaptiveRun(router, {
        every: adaptEvery.data,
        threshold: adaptThreshold.data,
        dwell: adaptDwell.data,
        batch: batch.data,
        splits: values['adapt-splits'] === 'on',
        costs: values.costs,
        backends: values.backends,
      });
    }
    if (controlAddress !== undefined) {
      const { ControlServer: Server } = await import('../control/control-server.js');
      control = new Server(router);
      const where = await control.listen(controlAddress);
      process.stderr.write(`control socket listening on ${where}\n`);
    }
    process.once('SIGINT', onSignal);
    let summary = await router.run();
    if (tty) process.stderr.write('\n');
    // Migrations still running finish (switch or roll back) before the summary reports them.
    await script.settled(summary.packetsIn);
    await adaptive?.settled();
    if (script.requested || adaptive !== null) summary = { ...summary, elements: router.summary().elements };
    if (values.linger && control !== null) {
      process.stderr.write("input done; serving handlers until 'WRITE stop' or SIGINT\n");
      await router.stopped;
    }
    if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else if (!values.quiet) process.stdout.write(formatSummary(summary));
    return 0;
  } finally {
    // Also after a failed run: ToDump writes out what it buffered, files and devices are released.
    process.removeListener('SIGINT', onSignal);
    await router.cleanup();
    await control?.close();
    await disposeBackends();
  }
}

export function formatSummary(s: RunSummary): string {
  const lines = [`${s.config}: ${s.packetsIn} packets in ${(s.elapsedMs / 1000).toFixed(3)} s (${fmt(s.packetsPerSecond)} pkt/s), ${s.batches} batches`];
  const books = new Map(s.accounting.map((a) => [a.name, a]));
  for (const e of s.elements) {
    const entries = Object.entries(e.counters);
    const a = books.get(e.name);
    // Drops by reason from the element's books, so every loss shows up whatever its counters say.
    const drops = Object.entries(a?.dropped ?? {}).map(([k, v]) => `${k}=${v}`);
    if (entries.length === 0 && drops.length === 0) continue;
    const counters = entries.map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v}`);
    lines.push(`  ${`${e.name} :: ${e.className}`.padEnd(36)} ${[...counters, ...(drops.length > 0 ? [`dropped: ${drops.join(' ')}`] : [])].join(' ')}`);
  }
  for (const a of s.accounting) {
    if (!a.balanced) lines.push(`  WARNING ${a.name} :: ${a.className}: ${a.unaccounted} packets unaccounted (see --json accounting)`);
  }
  return `${lines.join('\n')}\n`;
}
