/**
 * Live migration to, from and between split placements of IPLookup: the router pipeline on a
 * real capture and a real table, moved cpu -> a split -> new shares -> one part changed -> one
 * part alone -> another split -> one backend, with route updates written during pre-copy and
 * verification, writes the same capture byte for byte as the run without migrations (the inline
 * cpu lookup), with every counter agreeing and every packet accounted for. A change of shares
 * between the same parts moves no state, and a part that serves before and after keeps its
 * runner (the log says both). Targets that fail (a lost null device at warm-up, a wrong word
 * read back from lavapipe) roll back to whatever served, split or not. Driven by events (the
 * gate's batch count, the migration's phases), never timers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router, type RunSummary } from '../../core/router.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { Backend, BackendName } from '../../core/backend.js';
import { migrateElement } from '../../core/migration/migrate-element.js';
import type { MigrationRecord } from '../../core/migration/migration-record.js';
import { NullBackend } from '../../backends/null/null-backend.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { requireOrWarn } from '../backends/availability.js';
import { classes, clickRouteFile, failing, Gate, routerConfig } from './support.js';
import { placementFree } from './counters.js';
import { parseMigrateFlag } from '../../app/cli/migrate-flag.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');
const ROUTES = 2000;
/** The whole LINX table (34K routes), where the capture's packets find routes to both outputs. */
const FULL = 1_000_000;

afterAll(() => disposeBackends());

/** At the gate's n-th batch: route writes (the first during pre-copy, the second during verification) and, in a migrated run, a move. */
interface Step {
  at: number;
  to?: string;
}

interface Run {
  router: Router;
  summary: RunSummary;
  output: Buffer;
  warnings: string[];
  records: MigrationRecord[];
  location: string;
  split: string;
  history: string;
}

/** Route changes for TEST-NET-3 (no packet of the capture goes there): they change the image, not the output. */
function writes(i: number): [string, string][] {
  return [
    ['add', `203.0.113.${i}/32 ${i % 2}`],
    ['set', `198.51.100.0/24 10.0.0.${i + 1} ${(i + 1) % 2}`],
  ];
}

async function runRouter(routes: string, steps: readonly Step[], backends: (n: BackendName) => Promise<Backend>): Promise<Run> {
  const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-split-mig-')), 'out.pcap');
  const warnings: string[] = [];
  const router = Router.fromText(routerConfig(CAPTURE, routes, output), path.join(os.tmpdir(), 'split-mig.click'), classes, {
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
    const i = steps.findIndex((s) => s.at === n);
    if (i < 0) return undefined;
    const [first, second] = writes(i);
    const to = steps[i].to;
    if (to === undefined) {
      // The run without migrations makes the same route changes at the same batch.
      return (async () => {
        await write(...first);
        await write(...second);
      })();
    }
    let verifying = false;
    return previous.then(
      () =>
        new Promise<void>((release) => {
          const done = migrateElement(router, 'rt', to, {
            onPhase: (phase) => {
              if (phase === 'precopy') void write(...first);
              // A target that fails during its load never reaches 'verify': the second change comes at the rollback.
              if (phase === 'verify' || (phase === 'rolled back' && !verifying)) void write(...second);
              if (phase === 'verify') verifying = true;
              // Traffic resumes once the targets are loaded: batches run on the source through verification and the switch.
              if (phase === 'verify' || phase === 'rolled back') release();
            },
          });
          previous = done.then((r) => void records.push(r));
        }),
    );
  };
  const summary = await router.run();
  await previous;
  // Read before cleanup, which releases the runners.
  const location = await router.handler('rt.location').read!();
  const split = router.listHandlers().some((x) => x.name === 'rt.split') ? await router.handler('rt.split').read!() : '';
  const history = await router.handler('rt.migrations').read!();
  const elements = router.summary().elements;
  await router.cleanup();
  expectBalanced(router);
  return { router, summary: { ...summary, elements }, output: readFileSync(output), warnings, records, location, split, history };
}

async function need(...names: BackendName[]): Promise<boolean> {
  for (const n of names) if (!requireOrWarn(n, await backendAvailability(n))) return false;
  return true;
}

/** The backends with `nul` as the null device. */
function withNull(nul: Backend, others: (n: BackendName) => Promise<Backend> = getBackend): (n: BackendName) => Promise<Backend> {
  return (n) => (n === 'null' ? Promise.resolve(nul) : others(n));
}

describe('IPLookup migrations involving splits', () => {
  it('cpu -> split -> new shares -> one part changed -> one part alone -> another split -> one backend, mid-run: same capture, same counters', async () => {
    if (!(await need('gpujs'))) return;
    const routes = clickRouteFile(FULL);
    const targets = ['null:0.7,cpu', 'null:0.3,cpu', 'null:0.3,gpujs/cpu', 'gpujs/cpu', 'cpu:0.6,null', 'null'];
    const at = targets.map((_t, i) => 3 + 6 * i);
    const base = await runRouter(routes, at.map((a) => ({ at: a })), withNull(new NullBackend()));
    const mig = await runRouter(routes, targets.map((to, i) => ({ at: at[i], to })), withNull(new NullBackend()));
    expect(base.summary.packetsIn).toBe(4631);
    expect(mig.output.equals(base.output)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(Number(mig.router.handler('lan.count').read!())).toBeGreaterThan(0);
    expect(Number(mig.router.handler('uplink.count').read!())).toBeGreaterThan(0);
    expect(mig.records.map((r) => `${r.from} -> ${r.to} ${r.status}`)).toEqual([
      'cpu -> null:0.7,cpu:0.3 done',
      'null:0.7,cpu:0.3 -> null:0.3,cpu:0.7 done',
      'null:0.3,cpu:0.7 -> null:0.3,gpujs/cpu:0.7 done',
      'null:0.3,gpujs/cpu:0.7 -> gpujs/cpu done',
      'gpujs/cpu -> cpu:0.6,null:0.4 done',
      'cpu:0.6,null:0.4 -> null done',
    ]);
    const [toSplit, shares, oneChanged, alone, another, single] = mig.records;
    // A new runner was loaded and took both writes of its step as deltas (one held during the load, one forwarded).
    for (const r of [toSplit, oneChanged, another]) {
      expect(r.bytesCopied).toBeGreaterThan(100_000);
      expect(r.deltas).toBe(2);
    }
    // Nothing new to load: the runners serving stay, with the images the element's delta path keeps current.
    for (const r of [shares, alone, single]) {
      expect(r.bytesCopied).toBe(0);
      expect(r.deltas).toBe(0);
    }
    expect(toSplit.note).toBeUndefined();
    expect(shares.note).toBe('no state moved: same backends (null,cpu), new shares for the credit counter from the next batch');
    expect(oneChanged.note).toBe('kept null (its runner and image stay: nothing copied)');
    expect(alone.note).toBe('kept gpujs/cpu (its runner and image stay: nothing copied)');
    expect(another.note).toBeUndefined();
    expect(single.note).toBe('kept null (its runner and image stay: nothing copied)');
    const lines = mig.history.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^#2 null:0\.7,cpu:0\.3 -> null:0\.3,cpu:0\.7 done bytes 0 deltas 0 .* generation \d+.*; no state moved: same backends \(null,cpu\), new shares for the credit counter from the next batch$/);
    expect(mig.location).toBe('null');
    expect(await mig.router.handler('rt.table').read!()).toBe(await base.router.handler('rt.table').read!());
    const rt = mig.summary.elements.find((e) => e.name === 'rt')!.counters;
    expect(rt).toMatchObject({ location: 'null', migrations: 6, migrations_rolled_back: 0 });
    expect(mig.warnings).toEqual([]);
  }, 120_000);

  it('a split run that ends split: the parts share the batches by their shares since the last switch, counted per part from the start', async () => {
    const routes = clickRouteFile(ROUTES);
    const mig = await runRouter(
      routes,
      [
        { at: 2, to: 'null:0.5,cpu' },
        { at: 10, to: 'null:0.25,cpu' },
      ],
      withNull(new NullBackend()),
    );
    const base = await runRouter(routes, [{ at: 2 }, { at: 10 }], withNull(new NullBackend()));
    expect(mig.output.equals(base.output)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(mig.location).toBe('split null:0.25,cpu:0.75');
    const parts = mig.split
      .trim()
      .split('\n')
      .map((l) => /^(\S+) share (\S+) batches (\d+) items (\d+)$/.exec(l)!);
    expect(parts.map((m) => [m[1], m[2]])).toEqual([
      ['null', '0.25'],
      ['cpu', '0.75'],
    ]);
    // Every lookup batch after the first switch ran on one part or the other; some on each.
    const rt = mig.summary.elements.find((e) => e.name === 'rt')!.counters;
    expect(rt.split).toBe('null:0.25,cpu:0.75');
    expect(Number(parts[0][3])).toBeGreaterThan(0);
    expect(Number(parts[1][3])).toBeGreaterThan(0);
    expect(Number(rt.split_null_batches)).toBe(Number(parts[0][3]));
  }, 60_000);
});

describe('a split target that fails rolls back to what served', () => {
  it('cpu -> cpu:0.5,null with the null device lost at its warm-up: rolled back, the inline lookup kept serving, same capture', async () => {
    const routes = clickRouteFile(ROUTES);
    const base = await runRouter(routes, [{ at: 5 }], withNull(new NullBackend()));
    const mig = await runRouter(routes, [{ at: 5, to: 'cpu:0.5,null' }], withNull(new NullBackend({ failAfterRuns: 0 })));
    expect(mig.output.equals(base.output)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(mig.records).toHaveLength(1);
    expect(mig.records[0]).toMatchObject({ from: 'cpu', to: 'cpu:0.5,null:0.5', status: 'rolled back' });
    expect(mig.records[0].reason).toMatch(/device lost \(configured failAfterRuns=0, run 1\)/);
    expect(mig.location).toBe('cpu (inline)');
    expect(mig.warnings.join('\n')).toMatch(/rt: migration cpu -> cpu:0\.5,null:0\.5 rolled back, cpu keeps serving: .*device lost/);
    const rt = mig.summary.elements.find((e) => e.name === 'rt')!.counters;
    expect(rt).toMatchObject({ location: 'cpu', migrations: 0, migrations_rolled_back: 1 });
  }, 60_000);

  it('null:0.6,cpu -> null:0.6,webgpu with a wrong word read back from lavapipe: rolled back, the split kept serving, same capture', async () => {
    if (!(await need('webgpu'))) return;
    const routes = clickRouteFile(ROUTES);
    const bad = failing(await getBackend('webgpu'), 'verify');
    const others = (n: BackendName): Promise<Backend> => (n === 'webgpu' ? Promise.resolve(bad) : getBackend(n));
    const base = await runRouter(routes, [{ at: 2 }, { at: 8 }], withNull(new NullBackend()));
    const mig = await runRouter(
      routes,
      [
        { at: 2, to: 'null:0.6,cpu' },
        { at: 8, to: 'null:0.6,webgpu' },
      ],
      withNull(new NullBackend(), others),
    );
    expect(mig.output.equals(base.output)).toBe(true);
    expect(placementFree(mig.summary)).toEqual(placementFree(base.summary));
    expect(mig.records.map((r) => `${r.from} -> ${r.to} ${r.status}`)).toEqual(['cpu -> null:0.6,cpu:0.4 done', 'null:0.6,cpu:0.4 -> null:0.6,webgpu:0.4 rolled back']);
    expect(mig.records[1].reason).toMatch(/verification: structure #0 differs at word \d+/);
    expect(mig.records[1].note).toBe('kept null (its runner and image stay: nothing copied)');
    expect(mig.location).toBe('split null:0.6,cpu:0.4');
    expect(mig.warnings.join('\n')).toMatch(/rt: migration null:0\.6,cpu:0\.4 -> null:0\.6,webgpu:0\.4 rolled back, null:0\.6,cpu:0\.4 keeps serving: verification/);
  }, 60_000);
});

describe('the migrate, location and migrations handlers with splits', () => {
  it('a split is a target like a backend; the same placement, bad shares and one backend twice are refused', async () => {
    const routes = clickRouteFile(ROUTES);
    const r = Router.fromText(`Idle -> rt :: IPLookup(FIB "${routes}", FORMAT click) -> Discard;`, path.join(os.tmpdir(), 'idle-split.click'), classes, {
      log: { info: () => undefined, warn: () => undefined },
      strictBackends: true,
      backends: withNull(new NullBackend()),
    });
    await r.initialize();
    const h = (name: string) => r.handler(`rt.${name}`);
    await h('migrate').write!('null:0.7,cpu');
    expect(await h('location').read!()).toBe('split null:0.7,cpu:0.3');
    expect(await h('backend').read!()).toBe('split null:0.7,cpu:0.3');
    await expect(h('migrate').write!('null:0.7,cpu:0.3')).rejects.toThrow(/rt: migration to null:0\.7,cpu:0\.3 refused: it runs on null:0\.7,cpu:0\.3 already/);
    await expect(h('migrate').write!('null:1.5,cpu')).rejects.toThrow(/the share of null must be a number between 0 and 1/);
    await expect(h('migrate').write!('null:0.5,null')).rejects.toThrow(/both parts name the same backend/);
    await expect(h('migrate').write!('null:0.5,cpu:0.6')).rejects.toThrow(/the shares sum to 1\.1, not 1/);
    await expect(h('migrate').write!('tpu:0.5,cpu')).rejects.toThrow(/unknown backend 'tpu'/);
    await h('migrate').write!('null:0.4,cpu');
    await h('migrate').write!('cpu');
    expect(await h('location').read!()).toBe('cpu (inline)');
    expect(await h('backend').read!()).toBe('cpu (inline)');
    const lines = (await h('migrations').read!()).trim().split('\n');
    expect(lines[0]).toMatch(/^#1 cpu -> null:0\.7,cpu:0\.3 done bytes \d+ /);
    expect(lines[1]).toMatch(/^#2 null:0\.7,cpu:0\.3 -> null:0\.4,cpu:0\.6 done .*; no state moved: same backends \(null,cpu\)/);
    expect(lines[2]).toMatch(/^#3 null:0\.4,cpu:0\.6 -> cpu done bytes 0 deltas 0 .* drained \d+ generation \d+/);
    expect(await h('lookup').read!('1.0.4.1')).toMatch(/^[01] /);
    await r.cleanup();
  }, 60_000);

  it('an element without a split seam (FlowIPManager) refuses a split target, and keeps serving where it was', async () => {
    const r = Router.fromText('Idle -> fm :: FlowIPManager(CAPACITY 1024) -> Discard;', path.join(os.tmpdir(), 'idle-flow.click'), classes, {
      log: { info: () => undefined, warn: () => undefined },
      strictBackends: true,
      backends: withNull(new NullBackend()),
    });
    await r.initialize();
    await expect(r.handler('fm.migrate').write!('null:0.5,cpu')).rejects.toThrow(/fm: migration to null:0\.5,cpu refused: it cannot run a split placement/);
    expect(await r.handler('fm.location').read!()).toBe('cpu (inline)');
    expect(await r.handler('fm.migrations').read!()).toBe('');
    await r.cleanup();
  }, 60_000);
});

describe('hetbox run --migrate with a split', () => {
  it('ELEMENT=SPLIT@PACKETS reads as the split (the omitted share is the rest); a bad split is a usage error', () => {
    expect(parseMigrateFlag('rt=null:0.6,cpu@1000')).toEqual({ element: 'rt', to: 'null:0.6,cpu:0.4', packets: 1000 });
    expect(parseMigrateFlag('rt=gpujs/cpu:0.25,fpga@5')).toEqual({ element: 'rt', to: 'gpujs/cpu:0.25,fpga:0.75', packets: 5 });
    expect(() => parseMigrateFlag('rt=null:0,cpu@1000')).toThrow(/--migrate rt=null:0,cpu@1000: split 'null:0,cpu': the share of null must be a number between 0 and 1/);
    expect(() => parseMigrateFlag('rt=cpu,null@1000')).toThrow(/give the first backend its share/);
  });
});
