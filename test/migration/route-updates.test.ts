/**
 * Route updates that change the routing while the lookup migrates: at a scripted batch
 * position, IPLookup (full LINX table, examples/router.click's pipeline) migrates cpu -> webgpu
 * -> fpga -> cpu, and route writes that move real traffic of the capture (10.0.0.6 and
 * 212.199.202.0/24 go into a blackhole output and back; 146.185.23.0/24 changes gateway and output) land during
 * the pre-copy, while the target is verified, and right at the switch (while the source still
 * drains its batches). The output equals that of a run without migrations making the same
 * writes at the same packet position, and every counter agrees; a run without the writes
 * differs (they did change the routing).
 *
 * The position is exact: a gate just before the lookup holds batch k, and the writes start only
 * once the lookup has started every batch before k (its books count them), so batches < k see
 * the old routes and batches >= k the new ones, inline or offloaded (an offload runner orders
 * a delta after the batches started before it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router, type RunSummary } from '../../core/router.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { BackendName } from '../../core/backend.js';
import type { ElementOutput } from '../../core/element.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { migrateElement } from '../../core/migration/migrate-element.js';
import type { MigrationPhase } from '../../core/migration/migrator.js';
import type { MigrationRecord } from '../../core/migration/migration-record.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { requireOrWarn } from '../backends/availability.js';
import { classes, clickRouteFile, Gate } from './support.js';
import { placementFree } from './counters.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');

afterAll(() => disposeBackends());

function config(routes: string, out: string): string {
  return `
    src :: FromDump(FILE "${CAPTURE}", STOP true);
    cls :: Classifier(12/0800, -);
    rt  :: IPLookup(FIB "${routes}", FORMAT click);
    ttl :: DecIPTTL;
    src -> cls;
    cls[0] -> Strip(14) -> CheckIPHeader -> gate :: MigrationGate -> rt;
    cls[1] -> Discard;
    rt[0] -> lan :: Counter -> ttl;
    rt[1] -> uplink :: Counter -> ttl;
    rt[2] -> blackhole :: Counter -> Discard;
    ttl[0] -> Unstrip(14) -> ToDump(FILE "${out}");
    ttl[1] -> expired :: Discard;`;
}

/** One scripted position: the writes made during pre-copy, verification and at the switch (or, without a target, all at once). */
interface Step {
  at: number;
  to?: BackendName;
  writes: Record<'precopy' | 'verify' | 'switched', [string, string]>;
}

/**
 * Writes that move real traffic (10.0.0.6: 2,795 packets; 212.199.202.9: 1,353; 146.185.23.162:
 * 50): into the blackhole (output 2, not in the capture) and out again, and between outputs.
 */
function writes(i: number): Step['writes'] {
  return {
    precopy: i % 2 === 0 ? ['add', `10.0.0.0/24 10.2.2.${i + 1} 2`] : ['remove', '10.0.0.0/24'],
    verify: ['set', `212.199.202.0/24 10.1.1.${i + 1} ${i % 2 === 0 ? 2 : 1}`],
    switched: ['set', `146.185.23.0/24 10.3.3.${i + 1} ${i % 2}`],
  };
}

async function run(routes: string, steps: readonly Step[]): Promise<{ summary: RunSummary; output: Buffer; records: MigrationRecord[]; warnings: string[] }> {
  const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-mig-routes-')), 'out.pcap');
  const warnings: string[] = [];
  const router = Router.fromText(config(routes, output), path.join(os.tmpdir(), 'routes.click'), classes, {
    log: { info: () => undefined, warn: (m) => void warnings.push(m) },
    batchSize: 64,
    strictBackends: true,
    backends: getBackend,
  });
  await router.initialize();
  const gate = router.graph.byName.get('gate')!.element as Gate;
  const rt = router.graph.byName.get('rt')!.element;
  // Settles once the lookup has started batches holding `packets` packets (its books count them before each process call).
  const waiters: { packets: number; resolve: () => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (rt.ledger.in[0] >= waiters[i].packets) waiters.splice(i, 1)[0].resolve();
    }
  };
  const process = rt.process.bind(rt);
  rt.process = (b: PacketBatch, port: number): ElementOutput | Promise<ElementOutput> => {
    const r = process(b, port);
    check();
    return r;
  };
  const started = (packets: number): Promise<void> =>
    new Promise((resolve) => {
      waiters.push({ packets, resolve });
      check();
    });
  const write = (h: string, v: string): Promise<void> => Promise.resolve(router.handler(`rt.${h}`).write!(v));
  const records: MigrationRecord[] = [];
  gate.hold = (n) => {
    const step = steps.find((s) => s.at === n);
    if (step === undefined) return undefined;
    const before = gate.passedBefore;
    return started(before).then(async () => {
      const w = step.writes;
      if (step.to === undefined) {
        for (const phase of ['precopy', 'verify', 'switched'] as const) await write(...w[phase]);
        return;
      }
      const pending: Promise<void>[] = [];
      const at = (phase: MigrationPhase): void => {
        if (phase === 'precopy' || phase === 'verify' || phase === 'switched') pending.push(write(...w[phase]));
      };
      records.push(await migrateElement(router, 'rt', step.to, { onPhase: at }));
      await Promise.all(pending);
    });
  };
  const summary = await router.run();
  const elements = router.summary().elements;
  await router.cleanup();
  expectBalanced(router);
  return { summary: { ...summary, elements }, output: readFileSync(output), records, warnings };
}

async function need(...names: BackendName[]): Promise<boolean> {
  for (const n of names) if (!requireOrWarn(n, await backendAvailability(n))) return false;
  return true;
}

describe('route updates during live migration', () => {
  it('writes during pre-copy, verification and at the switch (cpu -> webgpu -> fpga -> cpu): same capture and counters as the same writes without migrations', async () => {
    if (!(await need('webgpu', 'fpga'))) return;
    const routes = clickRouteFile(1_000_000);
    const targets: BackendName[] = ['webgpu', 'fpga', 'cpu'];
    const at = [5, 20, 40];
    const none = await run(routes, []);
    const base = await run(routes, targets.map((_t, i) => ({ at: at[i], writes: writes(i) })));
    const mig = await run(routes, targets.map((to, i) => ({ at: at[i], to, writes: writes(i) })));
    expect(mig.records.map((r) => `${r.from}->${r.to} ${r.status}`)).toEqual(['cpu->webgpu done', 'webgpu->fpga done', 'fpga->cpu done']);
    // The pre-copy and verification writes reached each target as deltas (the switch's go through the element's own path).
    for (const r of mig.records.filter((x) => x.to !== 'cpu')) expect(r.deltas).toBe(2);
    expect(mig.output.equals(base.output)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    // The writes changed the routing: without them, other packets leave, on other outputs.
    expect(base.output.equals(none.output)).toBe(false);
    expect(Number(placementFree(base.summary).blackhole.count)).toBeGreaterThan(1000);
    expect(placementFree(base.summary).lan).not.toEqual(placementFree(none.summary).lan);
    expect(mig.warnings.filter((w) => !/no route for/.test(w))).toEqual([]);
  }, 240_000);
});
