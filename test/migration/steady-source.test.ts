/**
 * Migrations under a steady source: nothing holds the traffic (no gate), 16 batches in flight,
 * and the migrations are `hetbox run --migrate` triggers (MigrationScript: each starts once the
 * sources have read its packet count, one after another). The flow NAT (fm moved cpu -> webgpu
 * -> null -> webgpu -> cpu, the table's writes reaching the target as a delta per batch) and the router (rt moved cpu -> webgpu -> fpga -> cpu) write the
 * same captures byte for byte as runs without migrations, and every counter agrees.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router, type RunSummary } from '../../core/router.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { BackendName } from '../../core/backend.js';
import { elementLibrary } from '../../elements/index.js';
import { MigrationScript, parseMigrateFlag } from '../../app/cli/migrate-flag.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { requireOrWarn } from '../backends/availability.js';
import { clickRouteFile } from './support.js';
import { placementFree } from './counters.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');
const IN_FLIGHT = 16;
const BATCH = 32;

afterAll(() => disposeBackends());

interface SteadyRun {
  summary: RunSummary;
  outputs: Buffer[];
  warnings: string[];
  infos: string[];
  migrations: string;
}

/** Run `config(outputs...)` with --migrate `flags`, as `hetbox run` does (the script on the scheduler's progress). */
async function runSteady(config: (outs: string[]) => string, outputs: number, element: string, flags: readonly string[]): Promise<SteadyRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-steady-'));
  const outs = Array.from({ length: outputs }, (_v, i) => path.join(dir, `out${i}.pcap`));
  const warnings: string[] = [];
  const infos: string[] = [];
  const script = new MigrationScript(flags.map(parseMigrateFlag));
  const router = Router.fromText(config(outs), path.join(dir, 'c.click'), elementLibrary, {
    log: { info: (m) => void infos.push(m), warn: (m) => void warnings.push(m) },
    batchSize: BATCH,
    maxInFlight: IN_FLIGHT,
    strictBackends: true,
    backends: getBackend,
    onBatchDone: (s) => script.progress(s),
  });
  script.attach(router);
  await router.initialize();
  const summary = await router.run();
  await script.settled(summary.packetsIn);
  const elements = router.summary().elements;
  const migrations = await router.handler(`${element}.migrations`).read!();
  await router.cleanup();
  expectBalanced(router);
  if (process.env.HETBOX_MIGRATION_LOG === '1') console.log(migrations);
  return { summary: { ...summary, elements }, outputs: outs.map((f) => readFileSync(f)), warnings, infos, migrations };
}

async function need(...names: BackendName[]): Promise<boolean> {
  for (const n of names) if (!requireOrWarn(n, await backendAvailability(n))) return false;
  return true;
}

describe('migrations under a steady source, 16 batches in flight', () => {
  it('the flow NAT: fm cpu -> webgpu -> null -> webgpu -> cpu while the capture replays ten times', async () => {
    if (!(await need('webgpu'))) return;
    const config = ([out, back]: string[]): string => `
      src :: FromDump(FILE "${CAPTURE}", STOP true, REPEAT 10);
      fm :: FlowIPManager(CAPACITY 65536);
      nat :: IPRewriter(pattern 192.0.2.1 20000-29999 - - 0 1);
      src -> IPReassembler -> fm -> nat;
      nat[0] -> ToDump(FILE "${out}");
      nat[1] -> ToDump(FILE "${back}");`;
    // Triggers close together queue: the migrations run back to back from 1,500 packets on, the capture replays on for ~45,000 more.
    const flags = ['fm=webgpu@1500', 'fm=null@1600', 'fm=webgpu@1700', 'fm=cpu@1800'];
    const base = await runSteady(config, 2, 'fm', []);
    const mig = await runSteady(config, 2, 'fm', flags);
    expect(base.summary.packetsIn).toBe(10 * 4631);
    expect(mig.outputs[0].equals(base.outputs[0])).toBe(true);
    expect(mig.outputs[1].equals(base.outputs[1])).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(mig.migrations.trim().split('\n').map((l) => l.replace(/ bytes .*/, ''))).toEqual(['#1 cpu -> webgpu done', '#2 webgpu -> null done', '#3 null -> webgpu done', '#4 webgpu -> cpu done']);
    // The source was steady: batches ran while the first migration did (each one's writes reached the target as a delta).
    expect(mig.migrations).toMatch(/^#1 cpu -> webgpu done bytes \d+ deltas [1-9]\d* .* batch_ms_p50/);
    expect(mig.warnings).toEqual([]);
  }, 180_000);

  it('the router: rt cpu -> webgpu -> fpga -> cpu on the full table while the capture replays three times', async () => {
    if (!(await need('webgpu', 'fpga'))) return;
    const routes = clickRouteFile(1_000_000);
    const config = ([out]: string[]): string => `
      src :: FromDump(FILE "${CAPTURE}", STOP true, REPEAT 3);
      cls :: Classifier(12/0800, -);
      rt  :: IPLookup(FIB "${routes}", FORMAT click);
      ttl :: DecIPTTL;
      src -> cls;
      cls[0] -> Strip(14) -> CheckIPHeader -> rt;
      cls[1] -> Discard;
      rt[0] -> lan :: Counter -> ttl;
      rt[1] -> uplink :: Counter -> ttl;
      ttl[0] -> Unstrip(14) -> ToDump(FILE "${out}");
      ttl[1] -> Discard;`;
    const flags = ['rt=webgpu@1500', 'rt=fpga@5000', 'rt=cpu@9000'];
    const base = await runSteady(config, 1, 'rt', []);
    const mig = await runSteady(config, 1, 'rt', flags);
    expect(mig.outputs[0].equals(base.outputs[0])).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(mig.migrations.trim().split('\n').map((l) => l.replace(/ bytes .*/, ''))).toEqual(['#1 cpu -> webgpu done', '#2 webgpu -> fpga done', '#3 fpga -> cpu done']);
    expect(mig.migrations).toMatch(/batch_ms_p50/);
    expect(mig.warnings).toEqual([]);
  }, 240_000);
});
