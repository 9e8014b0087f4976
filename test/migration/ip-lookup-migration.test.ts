/**
 * Live migration of IPLookup on the real backends (lavapipe WebGPU, Verilator FPGA, gpu.js):
 * the router pipeline on a real capture and a real table, migrated cpu -> webgpu -> fpga ->
 * gpujs -> cpu mid-run with route updates written during pre-copy, writes the same capture
 * byte for byte as a run without migrations, and every counter agrees; faults injected into
 * the target (lost mid-copy, a wrong word read back, a load that never answers) roll back with
 * the reason reported and nothing lost; a second request while one runs is refused.
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
import { NullBackend } from '../../backends/null/null-backend.js';
import { classes, clickRouteFile, failing, Gate, routerConfig, type Fault } from './support.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');
const FULL = 1_000_000; // the whole LINX table (34K routes): used by the all-pairs run only
const SMALL = 2000;

afterAll(() => disposeBackends());

interface Run {
  router: Router;
  summary: RunSummary;
  output: Buffer;
  warnings: string[];
}

/** One step at the gate's n-th batch: route updates, and (with a target) a migration. */
interface Step {
  at: number;
  to?: BackendName;
  /** Route writes: the first while the target loads (pre-copy), the second while it is verified. */
  writes: [string, string][];
}

async function runRouter(routes: string, steps: readonly Step[], backends: (n: BackendName) => Promise<Backend> = getBackend, opts: MigrateOptions = {}): Promise<Run & { records: MigrationRecord[]; location: string }> {
  const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-mig-out-')), 'out.pcap');
  const warnings: string[] = [];
  const router = Router.fromText(routerConfig(CAPTURE, routes, output), path.join(os.tmpdir(), 'mig.click'), classes, {
    log: { info: () => undefined, warn: (m) => void warnings.push(m) },
    batchSize: 64,
    strictBackends: true,
    backends,
  });
  await router.initialize();
  const gate = router.graph.byName.get('gate')!.element as Gate;
  const records: MigrationRecord[] = [];
  let previous: Promise<unknown> = Promise.resolve();
  const write = async (h: string, v: string): Promise<void> => router.handler(`rt.${h}`).write!(v);
  gate.hold = (n) => {
    const step = steps.find((s) => s.at === n);
    if (step === undefined) return undefined;
    const [first, second] = step.writes;
    if (step.to === undefined) {
      // The run without migrations makes the same route changes at the same batch.
      return (async () => {
        for (const [h, v] of step.writes) await write(h, v);
      })();
    }
    const to = step.to;
    let verifying = false;
    return previous.then(
      () =>
        new Promise<void>((release) => {
          const done = migrateElement(router, 'rt', to, {
            ...opts,
            onPhase: (phase) => {
              if (phase === 'precopy' && first !== undefined) void write(...first);
              // A target that fails during its load never reaches 'verify': the second change comes at the rollback.
              if ((phase === 'verify' || (phase === 'rolled back' && !verifying)) && second !== undefined) void write(...second);
              if (phase === 'verify') verifying = true;
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
  // Read before cleanup, which releases the runner.
  const location = await router.handler('rt.location').read!();
  const elements = router.summary().elements;
  await router.cleanup();
  expectBalanced(router);
  return { router, summary: { ...summary, elements }, output: readFileSync(output), warnings, records, location };
}

/** Every counter of every element, without the fields that say where the lookup ran. */
function counters(s: RunSummary): Record<string, Record<string, number | string>> {
  const placement = new Set(['backend', 'backend_requested', 'backend_fallback', 'kernel_batches', 'kernel_items', 'location', 'migrations', 'migrations_rolled_back', 'migration_rollback', 'rate']);
  return Object.fromEntries(s.elements.map((e) => [e.name, Object.fromEntries(Object.entries(e.counters).filter(([k]) => !placement.has(k)))]));
}

/** Route changes for TEST-NET-3 (no packet of the capture goes there): they change the image, not the output. */
function writes(i: number): [string, string][] {
  return [
    ['add', `203.0.113.${i}/32 ${i % 2}`],
    ['set', `198.51.100.0/24 10.0.0.${i + 1} ${(i + 1) % 2}`],
  ];
}

async function need(...names: BackendName[]): Promise<boolean> {
  for (const n of names) if (!requireOrWarn(n, await backendAvailability(n))) return false;
  return true;
}

describe('IPLookup live migration', () => {
  it('every ordered pair mid-run (cpu -> webgpu -> fpga -> gpujs -> cpu -> fpga -> ...), routes changing during pre-copy: same capture, same counters (full table)', async () => {
    if (!(await need('webgpu', 'fpga', 'gpujs'))) return;
    const routes = clickRouteFile(FULL);
    // An Euler circuit of the 12 ordered pairs of {cpu, webgpu, fpga, gpujs}, starting with the issue's cpu -> webgpu -> fpga -> gpujs -> cpu.
    const targets: BackendName[] = ['webgpu', 'fpga', 'gpujs', 'cpu', 'fpga', 'webgpu', 'gpujs', 'webgpu', 'cpu', 'gpujs', 'fpga', 'cpu'];
    const at = targets.map((_t, i) => 3 + 5 * i);
    const base = await runRouter(routes, targets.map((_t, i) => ({ at: at[i], writes: writes(i) })));
    const mig = await runRouter(routes, targets.map((to, i) => ({ at: at[i], to, writes: writes(i) })));
    expect(base.summary.packetsIn).toBe(4631);
    expect(mig.output.equals(base.output)).toBe(true);
    expect(counters(mig.summary)).toEqual(counters(base.summary));
    // The lookup decided: both outputs carried packets.
    expect(Number(mig.router.handler('lan.count').read!())).toBeGreaterThan(0);
    expect(Number(mig.router.handler('uplink.count').read!())).toBeGreaterThan(0);
    const from = ['cpu', ...targets.slice(0, -1)];
    expect(mig.records.map((r) => `${r.from}->${r.to} ${r.status}`)).toEqual(targets.map((t, i) => `${from[i]}->${t} done`));
    expect(new Set(mig.records.map((r) => `${r.from}->${r.to}`)).size).toBe(12);
    for (const r of mig.records.filter((m) => m.to !== 'cpu')) {
      // Both writes of its step reached the target during pre-copy (one held while loading, one forwarded).
      expect(r.deltas).toBe(2);
      expect(r.bytesCopied).toBeGreaterThan(100_000);
      expect(r.pauseMs).toBeLessThan(r.totalMs);
    }
    expect(await mig.router.handler('rt.table').read!()).toBe(await base.router.handler('rt.table').read!());
    expect(await mig.router.handler('rt.lookup').read!('203.0.113.3')).toBe('1');
    expect(mig.location).toBe('cpu (inline)');
    const history = (await mig.router.handler('rt.migrations').read!()).trim().split('\n');
    expect(history).toHaveLength(12);
    expect(history[1]).toMatch(/^#2 webgpu -> fpga done bytes \d+ deltas 2 precopy_ms [\d.]+ pause_ms [\d.]+ total_ms [\d.]+ drained \d+ generation \d+( batch_ms_p50 [\d.]+->[\d.]+ p99 [\d.]+->[\d.]+)?$/);
    // The delay added: batches ran during most migrations (the gate holds one batch; the window keeps IPLookup busy).
    expect(mig.records.filter((r) => (r.delay?.batches ?? 0) > 0).length).toBeGreaterThan(0);
    for (const r of mig.records) expect(r.delay).not.toBeNull();
    const rt = mig.summary.elements.find((e) => e.name === 'rt')!.counters;
    expect(rt).toMatchObject({ location: 'cpu', migrations: 12, migrations_rolled_back: 0 });
    expect(mig.warnings).toEqual([]);
    if (process.env.HETBOX_MIGRATION_LOG === '1') for (const h of history) console.log(h);
  }, 120_000);

  const faults: { fault: Fault; reason: RegExp; opts?: MigrateOptions }[] = [
    { fault: 'load', reason: /device lost during the copy \(injected\)/ },
    { fault: 'verify', reason: /verification: structure #0 differs at word \d+/ },
    { fault: 'hang', reason: /timed out after 300 ms before the switch/, opts: { timeoutMs: 300 } },
  ];
  for (const { fault, reason, opts } of faults) {
    it(`a target that fails (${fault}) rolls back to the source: same capture, reason in log, handler and summary`, async () => {
      if (!(await need('webgpu'))) return;
      const routes = clickRouteFile(SMALL);
      const real = await getBackend('webgpu');
      const bad = failing(real, fault);
      const backends = (n: BackendName): Promise<Backend> => (n === 'webgpu' ? Promise.resolve(bad) : getBackend(n));
      const base = await runRouter(routes, [{ at: 6, writes: writes(0) }]);
      const mig = await runRouter(routes, [{ at: 6, to: 'webgpu', writes: writes(0) }], backends, opts);
      expect(mig.output.equals(base.output)).toBe(true);
      expect(counters(mig.summary)).toEqual(counters(base.summary));
      expect(mig.records).toHaveLength(1);
      expect(mig.records[0]).toMatchObject({ from: 'cpu', to: 'webgpu', status: 'rolled back' });
      expect(mig.records[0].reason).toMatch(reason);
      expect(mig.location).toBe('cpu (inline)');
      expect(await mig.router.handler('rt.migrations').read!()).toMatch(new RegExp(`^#1 cpu -> webgpu rolled back .*: ${reason.source}`));
      expect(mig.warnings.join('\n')).toMatch(new RegExp(`rt: migration cpu -> webgpu rolled back, cpu keeps serving: .*${reason.source}`));
      const rt = mig.summary.elements.find((e) => e.name === 'rt')!.counters;
      expect(rt).toMatchObject({ location: 'cpu', migrations: 0, migrations_rolled_back: 1 });
      expect(String(rt.migration_rollback)).toMatch(reason);
    }, 60_000);
  }
});

describe('a target that refuses the size', () => {
  it('rolls back with the refusal named (the null backend with a small capacity), and the lookup keeps serving', async () => {
    const small = new NullBackend({ costs: { capacityBytes: 4096 } });
    const backends = (n: BackendName): Promise<Backend> => (n === 'null' ? Promise.resolve(small) : getBackend(n));
    const routes = clickRouteFile(SMALL);
    const base = await runRouter(routes, [{ at: 6, writes: writes(0) }]);
    const mig = await runRouter(routes, [{ at: 6, to: 'null', writes: writes(0) }], backends);
    expect(mig.output.equals(base.output)).toBe(true);
    expect(counters(mig.summary)).toEqual(counters(base.summary));
    expect(mig.records[0]).toMatchObject({ from: 'cpu', to: 'null', status: 'rolled back' });
    expect(mig.records[0].reason).toMatch(/null: image of \d+ bytes exceeds the configured capacity of 4096 bytes/);
    expect(mig.location).toBe('cpu (inline)');
  }, 60_000);
});

describe('a target that fails after the switch', () => {
  it('falls back to cpu visibly, as any runner, and the capture is still the same', async () => {
    // Verified and switched, then the device is lost on its third batch.
    const lost = new NullBackend({ failAfterRuns: 2 });
    const backends = (n: BackendName): Promise<Backend> => (n === 'null' ? Promise.resolve(lost) : getBackend(n));
    const routes = clickRouteFile(SMALL);
    const base = await runRouter(routes, [{ at: 6, writes: writes(0) }]);
    const mig = await runRouter(routes, [{ at: 6, to: 'null', writes: writes(0) }], backends);
    expect(mig.output.equals(base.output)).toBe(true);
    expect(counters(mig.summary)).toEqual(counters(base.summary));
    expect(mig.records[0]).toMatchObject({ from: 'cpu', to: 'null', status: 'done' });
    expect(mig.location).toMatch(/^cpu \(fallback: null failed: /);
    expect(mig.warnings.join('\n')).toMatch(/rt: ip-lookup falls back from null to cpu/);
    const rt = mig.summary.elements.find((e) => e.name === 'rt')!.counters;
    expect(rt).toMatchObject({ location: 'cpu', migrations: 1, backend: 'cpu' });
    expect(String(rt.backend_fallback)).toMatch(/null failed/);
  }, 60_000);
});

describe('migration triggers', () => {
  async function idleRouter(backend?: string): Promise<Router> {
    const routes = clickRouteFile(SMALL);
    const r = Router.fromText(`Idle -> rt :: IPLookup(FIB "${routes}", FORMAT click${backend === undefined ? '' : `, BACKEND ${backend}`}) -> Discard;`, path.join(os.tmpdir(), 'idle.click'), classes, {
      log: { info: () => undefined, warn: () => undefined },
      strictBackends: true,
      backends: getBackend,
    });
    await r.initialize();
    return r;
  }

  it('WRITE rt.migrate moves the lookup (location, backend); a second request while one runs is refused', async () => {
    if (!(await need('webgpu', 'gpujs'))) return;
    const r = await idleRouter('webgpu');
    expect(await r.handler('rt.location').read!()).toBe('webgpu');
    const first = r.handler('rt.migrate').write!('gpujs');
    await expect(r.handler('rt.migrate').write!('cpu')).rejects.toThrow(/rt: migration to cpu refused: a migration to gpujs is in progress/);
    await expect(migrateElement(r, 'rt', 'cpu')).rejects.toThrow(/in progress/);
    expect(await r.handler('rt.migrations').read!()).toBe('in progress: webgpu -> gpujs\n');
    await first;
    expect(await r.handler('rt.location').read!()).toBe('gpujs');
    expect(await r.handler('rt.backend').read!()).toBe('gpujs');
    await expect(r.handler('rt.migrate').write!('gpujs')).rejects.toThrow(/runs on gpujs already/);
    await expect(r.handler('rt.migrate').write!('tpu')).rejects.toThrow(/unknown backend 'tpu'/);
    await r.handler('rt.migrate').write!('cpu');
    expect(await r.handler('rt.location').read!()).toBe('cpu (inline)');
    expect(await r.handler('rt.lookup').read!('1.0.4.1')).toMatch(/^[01] /);
    await r.cleanup();
  }, 60_000);

  it('the programmatic call refuses elements that cannot migrate', async () => {
    const r = await idleRouter();
    await expect(migrateElement(r, 'nope', 'webgpu')).rejects.toThrow(/no element named 'nope'/);
    const discard = [...r.graph.byName.keys()].find((n) => n.startsWith('Discard'))!;
    await expect(migrateElement(r, discard, 'webgpu')).rejects.toThrow(/cannot migrate/);
    await r.cleanup();
  });
});
