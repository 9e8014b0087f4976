/**
 * Offloaded flow classification and its live migration, on the real backends (lavapipe WebGPU,
 * the null backend's real cpu answers): FlowIPManager -> IPRewriter on a real capture, with the
 * flow lookup on webgpu from the start or moved cpu -> webgpu -> null -> webgpu -> cpu mid-run,
 * writes the same two captures byte for byte as the inline run, and every counter agrees. The
 * table image moves by pre-copy and per-batch deltas (the host stays its single writer); the
 * stop phase checks checksums, or (one test) the whole image word for word.
 * Migrations are driven by events (the gate's batch count, the migration's phases), never timers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router, type RunSummary } from '../../core/router.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { Backend, BackendName } from '../../core/backend.js';
import { migrateElement } from '../../core/migration/migrate-element.js';
import type { MigrateOptions } from '../../core/migration/migrator.js';
import type { MigrationRecord } from '../../core/migration/migration-record.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { requireOrWarn } from '../backends/availability.js';
import { classes, failing, Gate, type Fault } from './support.js';
import { placementFree } from './counters.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');

afterAll(() => disposeBackends());

/** examples/nat.click's pipeline with a gate after the flow manager and a ToDump per output. */
function natConfig(out: string, back: string, backend?: string): string {
  return `
    src :: FromDump(FILE "${CAPTURE}", STOP true);
    frag :: IPReassembler(TIMEOUT 30);
    fm :: FlowIPManager(CAPACITY 65536, POLICY evict${backend === undefined ? '' : `, BACKEND ${backend}`});
    nat :: IPRewriter(pattern 192.0.2.1 20000-29999 - - 0 1);
    src -> frag -> fm -> gate :: MigrationGate -> nat;
    nat[0] -> ToDump(FILE "${out}");
    nat[1] -> ToDump(FILE "${back}");`;
}

interface FlowRun {
  router: Router;
  summary: RunSummary;
  out: Buffer;
  back: Buffer;
  warnings: string[];
  records: MigrationRecord[];
  location: string;
}

/** Run the NAT; at the gate's batch `at[i]` migrate fm to `targets[i]` (one after another), holding that batch until the target is loaded. */
async function runNat(
  steps: readonly { at: number; to: BackendName }[],
  opts: MigrateOptions = {},
  backend?: string,
  backends: (name: BackendName) => Promise<Backend> = getBackend,
): Promise<FlowRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-flowmig-'));
  const out = path.join(dir, 'out.pcap');
  const back = path.join(dir, 'back.pcap');
  const warnings: string[] = [];
  const router = Router.fromText(natConfig(out, back, backend), path.join(dir, 'nat.click'), classes, {
    log: { info: () => undefined, warn: (m) => void warnings.push(m) },
    batchSize: 64,
    strictBackends: true,
    backends,
  });
  await router.initialize();
  const gate = router.graph.byName.get('gate')!.element as Gate;
  const records: MigrationRecord[] = [];
  let previous: Promise<unknown> = Promise.resolve();
  gate.hold = (n) => {
    const step = steps.find((s) => s.at === n);
    if (step === undefined) return undefined;
    return previous.then(
      () =>
        new Promise<void>((release) => {
          const done = migrateElement(router, 'fm', step.to, {
            ...opts,
            onPhase: (phase) => {
              // Traffic resumes once the target is loaded: batches run on the source through verification and the switch.
              if (phase === 'verify' || phase === 'rolled back') release();
            },
          });
          previous = done.then((r) => void records.push(r));
        }),
    );
  };
  const summary = await router.run();
  await previous;
  const location = await router.handler('fm.location').read!();
  const elements = router.summary().elements;
  await router.cleanup();
  expectBalanced(router);
  return { router, summary: { ...summary, elements }, out: readFileSync(out), back: readFileSync(back), warnings, records, location };
}

async function need(...names: BackendName[]): Promise<boolean> {
  for (const n of names) if (!requireOrWarn(n, await backendAvailability(n))) return false;
  return true;
}

describe('FlowIPManager: offloaded classification', () => {
  it('BACKEND webgpu and BACKEND null classify as the inline lookup: same captures, same counters, the lookups ran there', async () => {
    if (!(await need('webgpu'))) return;
    const base = await runNat([]);
    expect(base.summary.packetsIn).toBe(4631);
    // The NAT mapped real connections: the forward capture carries rewritten packets.
    expect(Number(base.router.handler('nat.mappings').read!())).toBeGreaterThan(10);
    for (const backend of ['webgpu', 'null']) {
      const off = await runNat([], {}, backend);
      expect(off.out.equals(base.out)).toBe(true);
      expect(off.back.equals(base.back)).toBe(true);
      expect(placementFree(off.summary)).toEqual(placementFree(base.summary));
      const fm = off.summary.elements.find((e) => e.name === 'fm')!.counters;
      expect(fm).toMatchObject({ backend, backend_requested: backend });
      expect(Number(fm.kernel_batches)).toBeGreaterThan(0);
      // The device's answers were used: most packets belong to flows the device image already held.
      expect(Number(fm.device_hits)).toBeGreaterThan(Number(fm.hits) / 2);
      expect(off.location).toBe(backend);
      expect(off.warnings).toEqual([]);
    }
  }, 120_000);
});

describe('FlowIPManager live migration', () => {
  it('cpu -> webgpu -> null -> webgpu -> cpu mid-run: same captures, same counters, checksums verified', async () => {
    if (!(await need('webgpu'))) return;
    const targets: BackendName[] = ['webgpu', 'null', 'webgpu', 'cpu'];
    const base = await runNat([]);
    const mig = await runNat(targets.map((to, i) => ({ at: 4 + 12 * i, to })));
    expect(mig.out.equals(base.out)).toBe(true);
    expect(mig.back.equals(base.back)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    const from = ['cpu', ...targets.slice(0, -1)];
    expect(mig.records.map((r) => `${r.from}->${r.to} ${r.status} ${r.verification}`)).toEqual(targets.map((t, i) => `${from[i]}->${t} done checksum`));
    for (const r of mig.records.filter((m) => m.to !== 'cpu')) {
      // The whole table image went over (its memory is fixed: CAPACITY's slots), then the per-batch deltas.
      expect(r.bytesCopied).toBeGreaterThan(1_000_000);
      expect(r.pauseMs).toBeLessThan(r.totalMs);
    }
    // Batches ran on the source while the target was verified: their writes reached it as deltas.
    expect(mig.records.some((r) => r.deltas > 0)).toBe(true);
    expect(mig.location).toBe('cpu (inline)');
    const history = (await mig.router.handler('fm.migrations').read!()).trim().split('\n');
    expect(history).toHaveLength(4);
    expect(history[0]).toMatch(/^#1 cpu -> webgpu done bytes \d+ deltas \d+ precopy_ms [\d.]+ pause_ms [\d.]+ total_ms [\d.]+ drained \d+ generation \d+/);
    const fm = mig.summary.elements.find((e) => e.name === 'fm')!.counters;
    expect(fm).toMatchObject({ location: 'cpu', migrations: 4, migrations_rolled_back: 0 });
    expect(mig.warnings).toEqual([]);
  }, 180_000);

  it('the word-for-word verification (tests keep it) agrees: the target image read back equals the published table', async () => {
    if (!(await need('webgpu'))) return;
    const base = await runNat([]);
    const mig = await runNat(
      [
        { at: 4, to: 'webgpu' },
        { at: 20, to: 'null' },
      ],
      { verify: 'words' },
    );
    expect(mig.out.equals(base.out)).toBe(true);
    expect(mig.back.equals(base.back)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(mig.records.map((r) => `${r.from}->${r.to} ${r.status} ${r.verification}`)).toEqual(['cpu->webgpu done words', 'webgpu->null done words']);
    expect(mig.location).toBe('null');
  }, 180_000);
});

describe('FlowIPManager: a migration target that fails rolls back', () => {
  // The same injected faults as IPLookup's (support.ts), on the null device: the protocol and the
  // rollback are shared code, this checks the flow table's side of them (its image, its deltas).
  const faults: { fault: Fault; reason: RegExp; opts?: MigrateOptions }[] = [
    { fault: 'load', reason: /device lost during the copy \(injected\)/ },
    { fault: 'verify', reason: /verification: structure #0 differs at word \d+/ },
    { fault: 'hang', reason: /timed out after 300 ms before the switch/, opts: { timeoutMs: 300 } },
  ];
  for (const { fault, reason, opts } of faults) {
    it(`(${fault}): same captures and counters as the run without it, reason in the log, the handler and the summary`, async () => {
      const real = await getBackend('null');
      const bad = failing(real, fault);
      const backends = (n: BackendName): Promise<Backend> => (n === 'null' ? Promise.resolve(bad) : getBackend(n));
      const base = await runNat([]);
      const mig = await runNat([{ at: 6, to: 'null' }], opts, undefined, backends);
      expect(mig.out.equals(base.out)).toBe(true);
      expect(mig.back.equals(base.back)).toBe(true);
      expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
      expect(mig.records).toHaveLength(1);
      expect(mig.records[0]).toMatchObject({ from: 'cpu', to: 'null', status: 'rolled back' });
      expect(mig.records[0].reason).toMatch(reason);
      expect(mig.location).toBe('cpu (inline)');
      expect(await mig.router.handler('fm.migrations').read!()).toMatch(new RegExp(`^#1 cpu -> null rolled back .*: ${reason.source}`));
      expect(mig.warnings.join('\n')).toMatch(new RegExp(`fm: migration cpu -> null rolled back, cpu keeps serving: .*${reason.source}`));
      const fm = mig.summary.elements.find((e) => e.name === 'fm')!.counters;
      expect(fm).toMatchObject({ location: 'cpu', migrations: 0, migrations_rolled_back: 1 });
      expect(String(fm.migration_rollback)).toMatch(reason);
    }, 60_000);
  }
});
