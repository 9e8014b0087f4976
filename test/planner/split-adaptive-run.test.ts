/**
 * `hetbox run --adapt` choosing a split and carrying it out live, in process: the router pipeline
 * on a real capture and the full LINX table starts its lookup on a null device that takes 40 ns
 * a packet (simulated device time) while the costs given to the planner say 1 ns (cpu: 60 ns).
 * After the dwell the adapter corrects null to 40 ns and re-plans: null and cpu balance at
 * null:0.6,cpu:0.4, and the lookup migrates there while traffic flows (the null runner is kept,
 * nothing copied). The capture written is byte for byte the inline lookup's. What the CPU part's
 * real (noisy) timings lead to afterwards is not fixed, but every later move is carried out.
 * A split part whose device is lost falls back to cpu visibly; the adapter reads that from the
 * `location` handler at its next sample and moves the lookup off the failed backend at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { Router } from '../../core/router.js';
import { disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { BackendName } from '../../core/backend.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { NullBackend } from '../../backends/null/null-backend.js';
import { AdaptiveRun } from '../../app/cli/adaptive-run.js';
import { migrateElement } from '../../core/migration/migrate-element.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { classes, clickRouteFile, routerConfig } from '../migration/support.js';
import { costsFile, option } from './support.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');

afterAll(() => disposeBackends());

interface Run {
  output: Buffer;
  adaptive: AdaptiveRun | null;
  logs: string[];
  history: string;
}

/** `split`: migrate to it before the traffic starts (the null device then serves as one part). */
async function run(routes: string, adapt: boolean, device = new NullBackend({ costs: { perItemNs: 40, perBatchNs: 0, perByteTransferNs: 0 } }), split?: string): Promise<Run> {
  const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-split-adapt-')), 'out.pcap');
  const logs: string[] = [];
  let adaptive: AdaptiveRun | null = null;
  const router = Router.fromText(routerConfig(CAPTURE, routes, output), path.join(os.tmpdir(), 'split-adapt.click'), classes, {
    log: { info: (m) => void logs.push(m), warn: (m) => void logs.push(`WARN ${m}`) },
    batchSize: 16,
    // Not BACKEND in the configuration: the planner would take that for a pin.
    ...(adapt ? { defaultBackend: 'null' } : {}),
    strictBackends: true,
    backends: (name: BackendName) => (name === 'null' ? Promise.resolve(device) : getBackend(name)),
    onBatchDone: (s) => adaptive?.progress(s),
  });
  await router.initialize();
  if (split !== undefined) expect((await migrateElement(router, 'rt', split)).status).toBe('done');
  if (adapt) {
    await getBackend('cpu');
    const book = new CostBook(parseCostsFile(JSON.stringify(costsFile('ip-lookup', { cpu: { perItemNs: 60, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0 } })), 'costs.json'));
    adaptive = await AdaptiveRun.start(router, { every: 4, adapt: { threshold: 0.5, dwell: 3 }, search: { objective: 'throughput', batch: 16 }, backends: [option('cpu'), option('null')], book });
  }
  const a = adaptive as AdaptiveRun | null;
  await router.run();
  await a?.settled();
  const history = await router.handler('rt.migrations').read!();
  await router.cleanup();
  expectBalanced(router);
  return { output: readFileSync(output), adaptive: a, logs, history };
}

describe('run --adapt chooses a split', () => {
  it('null claimed at 1 ns, measured at 40: re-planned to null:0.6,cpu:0.4 and migrated live; the capture is the inline one', async () => {
    const routes = clickRouteFile(1_000_000);
    const base = await run(routes, false);
    const mig = await run(routes, true);
    expect(mig.output.equals(base.output)).toBe(true);
    const history = mig.adaptive!.adapter.history();
    const first = history[0];
    expect(first.round).toBe(3);
    expect(first.reason).toBe('rt on null: measured 640 ns a batch of 16 against 16 ns predicted (x40.00 for 3 samples, threshold ±50%)');
    expect(first.moves).toEqual([{ element: 'rt', from: 'null', to: 'null:0.6,cpu:0.4' }]);
    expect(first.outcome).toBe('rt: done');
    expect(mig.history.split('\n')[0]).toMatch(/^#1 null -> null:0\.6,cpu:0\.4 done bytes 0 deltas 0 .*; kept null \(its runner and image stay: nothing copied\)$/);
    expect(mig.logs).toContain('adapt: #1 rt null -> null:0.6,cpu:0.4; because ' + first.reason);
    // Later moves (the CPU part's real timings) are carried out too, never refused or rolled back.
    for (const d of history) if (d.moves.length > 0) expect(d.outcome).toBe('rt: done');
    expect(mig.logs.filter((l) => l.startsWith('WARN'))).toEqual([]);
  }, 120_000);
});

describe('run --adapt when a split part fails', () => {
  it('the null part lost on its first batch falls back to cpu; the next sample re-plans off null at once, and the lookup moves to inline cpu', async () => {
    const routes = clickRouteFile(2000);
    const base = await run(routes, false);
    // Run 1 is the migration's warm-up; the first batch the part runs is lost.
    const mig = await run(routes, true, new NullBackend({ failAfterRuns: 1 }), 'null:0.5,cpu');
    expect(mig.output.equals(base.output)).toBe(true);
    const first = mig.adaptive!.adapter.history()[0];
    expect(first.round).toBe(1);
    expect(first.reason).toMatch(/^rt: backend null failed \(null failed: .*device lost \(configured failAfterRuns=1, run 2\).*\); it runs on cpu:0\.5,cpu:0\.5$/);
    expect(first.moves).toEqual([{ element: 'rt', from: 'cpu:0.5,cpu:0.5', to: 'cpu' }]);
    expect(first.outcome).toBe('rt: done');
    expect(mig.adaptive!.adapter.history().filter((d) => d.reason.includes('failed'))).toHaveLength(1);
    expect(mig.history.split('\n')[1]).toMatch(/^#2 cpu:0\.5,cpu:0\.5 -> cpu done bytes 0 deltas 0 /);
    expect(mig.logs.some((l) => l.startsWith('WARN rt: ip-lookup falls back from null to cpu'))).toBe(true);
  }, 120_000);
});
