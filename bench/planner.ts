/**
 * Planner bench: how good the predictions are on this machine. Calibrates the ip-lookup kernel
 * on cpu, lavapipe WebGPU and the Verilator FPGA (small batch list, into a temporary cache dir),
 * plans examples/router.click (its lookup over a real route table) at batch 256 ("before": host
 * elements at the built-in estimate), calibrates the config's host elements in the same run and
 * plans again ("after"), then runs each
 * of the chosen, all-CPU, all-accelerator and greedy placements through the router (the capture
 * replayed, output discarded), interleaved and repeated, and prints the measured rate (median,
 * range) against the predicted one with the prediction's error. The all-CPU run is the baseline.
 *
 * HETBOX_BENCH_PLANNER_BACKENDS (default "cpu,webgpu,fpga") and HETBOX_BENCH_PLANNER_REPEAT
 * (capture replays per run, default 20) size it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCalibrate } from '../app/cli/calibrate-command.js';
import { runPlan } from '../app/cli/plan-command.js';
import { Router } from '../core/router.js';
import { disposeBackends, getBackend } from '../core/backend-registry.js';
import type { PlanReport, PlacementReport } from '../core/planner/explain.js';
import { formatRate } from '../core/planner/search.js';
import { elementLibrary } from '../elements/index.js';
import { projectRoot, sharedData } from './paths.js';
import type { BenchReport } from './report.js';

const BATCH = 256;
const ROUNDS = 5;

function routerConfig(capture: string, routes: string, repeat: number, place: string): string {
  // examples/router.click with the output discarded and the lookup placed as the plan says.
  const where = place === 'cpu' ? '' : place.includes(':') ? `, PLACE "${place}"` : `, BACKEND ${place}`;
  return `
    src :: FromDump(FILE "${capture}", STOP true, REPEAT ${repeat});
    cls :: Classifier(12/0800, -);
    chk :: CheckIPHeader;
    rt  :: IPLookup(FIB "${routes}", FORMAT click${where});
    ttl :: DecIPTTL;
    src -> rx :: Counter -> cls;
    cls[0] -> Strip(14) -> chk -> rt;
    cls[1] -> nonip :: Discard;
    rt[0] -> lan :: Counter -> ttl;
    rt[1] -> uplink :: Counter -> ttl;
    ttl[0] -> Unstrip(14) -> tx :: Counter -> Discard;
    ttl[1] -> expired :: Discard;
`;
}

async function measure(config: string, file: string): Promise<number> {
  const router = Router.fromText(config, file, elementLibrary, { batchSize: BATCH, log: { info: () => undefined, warn: (m) => process.stdout.write(`  warning: ${m}\n`) }, backends: getBackend });
  await router.initialize();
  try {
    const s = await router.run();
    return s.packetsPerSecond;
  } finally {
    await router.cleanup();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

export async function run(report: BenchReport): Promise<void> {
  const backends = (process.env.HETBOX_BENCH_PLANNER_BACKENDS ?? 'cpu,webgpu,fpga').split(',').map((b) => b.trim());
  const repeat = Number(process.env.HETBOX_BENCH_PLANNER_REPEAT ?? '20');
  const section = report.section(`planner: predicted vs measured rate per placement, router.click with ${path.basename(path.join(projectRoot(), 'examples', 'routes.txt'))}, batch ${BATCH}, ${backends.join('+')}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-bench-planner-'));
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const routes = path.join(projectRoot(), 'examples', 'routes.txt');
  const capture = path.join(projectRoot(), 'examples', 'data', 'input.pcap');
  const calCapture = sharedData('pcaps/pcapplusplus/example.pcap');
  const quiet = (): void => undefined;
  const t0 = performance.now();
  // Kernels first, host elements left at the built-in estimate: the "before" plan.
  await runCalibrate(['--backends', backends.join(','), '--batches', '64,256,1024', '--repeats', '3', '--routes', routes, '--capture', calCapture, '--hosts', 'off', '--json'], quiet, env);
  const configFile = path.join(dir, 'router.click');
  writeFileSync(configFile, routerConfig(capture, routes, repeat, 'cpu'));
  const plan = async (): Promise<PlanReport> => {
    let out = '';
    await runPlan([configFile, '--backends', backends.join(','), '--batch', String(BATCH), '--json'], (t) => (out += t), env);
    return JSON.parse(out) as PlanReport;
  };
  const before = await plan();
  // Then this config's host elements on this CPU, in this run (same load as the measurements).
  const t1 = performance.now();
  await runCalibrate(['--backends', '', '--elements', '', '--config', configFile, '--batches', '64,256,1024', '--repeats', '9', '--replays', '40', '--capture', capture, '--json'], quiet, env);
  const hostSeconds = (performance.now() - t1) / 1000;
  const after = await plan();
  report.note(
    section,
    `calibrated and planned in ${((performance.now() - t0) / 1000).toFixed(1)} s (host elements ${hostSeconds.toFixed(1)} s; ${after.method} search, ${after.evaluated} placements); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores; webgpu is lavapipe, fpga is Verilator (software)`,
  );
  // Placements to run, deduplicated by what they put where (the chosen one often equals a baseline).
  interface Row { names: string[]; place: string; before: number; after: number; bottleneck: string; rates: number[] }
  const runs = new Map<string, Row>();
  const predictedFor = (p: PlanReport, place: string): number => {
    const hit = [p.chosen, ...p.baselines].find((q) => (q.placement.rt ?? 'cpu') === place);
    return hit?.prediction.throughputPps ?? NaN;
  };
  for (const [which, p] of [['before', before], ['after', after]] as const) {
    for (const q of [p.chosen, ...p.baselines]) {
      const place = q.placement.rt ?? 'cpu';
      const r = runs.get(place) ?? { names: [], place, before: predictedFor(before, place), after: predictedFor(after, place), bottleneck: '', rates: [] };
      const name = `${q.name} (${which})`;
      if (!r.names.includes(name)) r.names.push(name);
      if (which === 'after') r.bottleneck = q.prediction.bottleneck;
      runs.set(place, r);
    }
  }
  // Interleaved rounds: every placement once per round, so load changes hit all of them alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs.values()) {
      const file = path.join(dir, `router-${r.place.replace(/[^a-z0-9]/gi, '_')}.click`);
      writeFileSync(file, routerConfig(capture, routes, repeat, r.place));
      r.rates.push(await measure(routerConfig(capture, routes, repeat, r.place), file));
    }
  }
  const cpu = runs.get('cpu');
  const rows = [...runs.values()].sort((a, b) => (a.place === 'cpu' ? -1 : b.place === 'cpu' ? 1 : 0));
  const error = (measured: number, predicted: number): string => (Number.isFinite(predicted) ? `${(((measured - predicted) / predicted) * 100).toFixed(0)}%` : 'not planned');
  for (const r of rows) {
    const m = median(r.rates);
    report.add(section, {
      name: `${r.names.join(' = ')}: rt on ${r.place}`,
      value: m,
      unit: 'pkt/s',
      ...(cpu !== undefined && r !== cpu ? { baseline: `${cpu.names.join(' = ')}: rt on cpu` } : {}),
      extra: {
        predictedBefore: r.before,
        errorBefore: error(m, r.before),
        predicted: r.after,
        error: error(m, r.after),
        min: Math.min(...r.rates),
        max: Math.max(...r.rates),
        bottleneck: r.bottleneck,
      },
    });
  }
  report.note(
    section,
    `measured: median of ${ROUNDS} interleaved runs of ${repeat} replays of input.pcap; predictedBefore: host elements at the built-in estimate, kernels calibrated; predicted: host elements calibrated in this run too; error = measured/predicted - 1. Chosen before ${before.chosen.placement.rt} at ${formatRate(before.chosen.prediction.throughputPps ?? 0)}, after ${after.chosen.placement.rt} at ${formatRate(after.chosen.prediction.throughputPps ?? 0)} predicted`,
  );
  await disposeBackends();
}
