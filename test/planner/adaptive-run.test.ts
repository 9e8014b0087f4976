/**
 * `hetbox run --adapt` in process: the lookup starts on a null backend configured slow (100 µs a
 * packet of simulated device time) while the costs the planner was given say it is fast (1 ns);
 * the samples (its kernel_stats, every 4 batches) disagree for the dwell, the adapter re-plans
 * once to the CPU and the lookup migrates live; the `placements` handler says what, why and how
 * it went, and nothing moves it back. Event-driven: samples come from the scheduler's progress,
 * and the run waits for the migration before its summary. Also the kernel_stats parsing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { Router, type RunSummary } from '../../core/router.js';
import { disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { BackendName } from '../../core/backend.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { NullBackend } from '../../backends/null/null-backend.js';
import { elementLibrary } from '../../elements/index.js';
import { AdaptiveRun, parseKernelStats } from '../../app/cli/adaptive-run.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { clickRouteFile } from '../migration/support.js';
import { costsFile, option } from './support.js';
import { requireBuiltCli, runHetbox } from '../support/hetbox-cli.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');

afterAll(() => disposeBackends());

describe('parseKernelStats', () => {
  it('reads each line; device time where reported, else host time', () => {
    const lines = parseKernelStats('ip-lookup null batches 4 items 128 host_ms 0.5 simulatedNs 52800 bytes 1536\nip-lookup cpu batches 2 items 64 host_ms 0.25\n');
    expect(lines).toEqual([
      { key: 'ip-lookup null', backend: 'null', batches: 4, items: 128, ns: 52800 },
      { key: 'ip-lookup cpu', backend: 'cpu', batches: 2, items: 64, ns: 250_000 },
    ]);
  });
});

describe('run --adapt with a profile that lies', () => {
  it('one re-plan moves the lookup from the slow null device to the CPU, live, and says why', async () => {
    const slow = new NullBackend({ costs: { perItemNs: 100_000, perBatchNs: 0, perByteTransferNs: 0 } });
    const logs: string[] = [];
    const config = `FromDump(FILE "${CAPTURE}", STOP true) -> Strip(14) -> CheckIPHeader -> rt :: IPLookup(FIB "${clickRouteFile(500)}", FORMAT click) -> Discard;\n`;
    const router = Router.fromText(config, path.join(os.tmpdir(), 'adapt.click'), elementLibrary, {
      log: { info: (m) => void logs.push(m), warn: (m) => void logs.push(`WARN ${m}`) },
      batchSize: 16,
      defaultBackend: 'null',
      strictBackends: true,
      backends: (name: BackendName) => (name === 'null' ? Promise.resolve(slow) : getBackend(name)),
      onBatchDone: (s) => adaptive?.progress(s),
    });
    let adaptive: AdaptiveRun | null = null;
    await router.initialize();
    // Getting a backend registers its kernel forms (as `hetbox run --adapt` does for every backend it plans over).
    await getBackend('cpu');
    // The planner's belief: null 1 ns a packet, cpu 100 ns; host elements free.
    const book = new CostBook(parseCostsFile(JSON.stringify(costsFile('ip-lookup', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0 } })), 'costs.json'));
    adaptive = await AdaptiveRun.start(router, {
      every: 4,
      adapt: { threshold: 0.5, dwell: 3 },
      search: { objective: 'throughput', batch: 16, splits: false },
      backends: [option('cpu'), option('null')],
      book,
    });
    const a: AdaptiveRun = adaptive;
    await router.run();
    await a.settled();
    const placements = await router.handler('placements').read!();
    const location = await router.handler('rt.location').read!();
    await router.cleanup();
    expectBalanced(router);

    const history = a.adapter.history();
    expect(history.length).toBeGreaterThanOrEqual(1);
    const first = history[0];
    expect(first.round).toBe(3);
    expect(first.moves).toEqual([{ element: 'rt', from: 'null', to: 'cpu' }]);
    expect(first.outcome).toBe('rt: done');
    expect(first.reason).toMatch(/^rt on null: measured .* predicted \(x\d+\.\d+ for 3 samples, threshold ±50%\)$/);
    expect(location).toBe('cpu (inline)');
    expect(placements.split('\n')[0]).toBe(`#1 round 3: rt null -> cpu [rt: done]; because ${first.reason}`);
    // No flapping: whatever the CPU's own samples lead to, nothing moves the lookup back.
    for (const d of history.slice(1)) expect(d.moves.filter((m) => m.to === 'null')).toEqual([]);
    expect(logs).toContain(`adapt: #1 rt null -> cpu; because ${first.reason}`);
    expect(logs).toContain('adapt: #1 rt: done');
  }, 60_000);
});

describe('run --adapt when the device fails', () => {
  it('the fallback (the runner already moved to cpu, and logged it) is a re-plan at once, with the reason', async () => {
    const dying = new NullBackend({ failAfterRuns: 5 });
    const logs: string[] = [];
    const config = `FromDump(FILE "${CAPTURE}", STOP true) -> Strip(14) -> CheckIPHeader -> rt :: IPLookup(FIB "${clickRouteFile(200)}", FORMAT click) -> Discard;\n`;
    let adaptive: AdaptiveRun | null = null;
    const router = Router.fromText(config, path.join(os.tmpdir(), 'adapt-fail.click'), elementLibrary, {
      log: { info: (m) => void logs.push(m), warn: (m) => void logs.push(`WARN ${m}`) },
      batchSize: 16,
      defaultBackend: 'null',
      strictBackends: true,
      backends: (name: BackendName) => (name === 'null' ? Promise.resolve(dying) : getBackend(name)),
      onBatchDone: (s) => adaptive?.progress(s),
    });
    await router.initialize();
    await getBackend('cpu');
    const book = new CostBook(parseCostsFile(JSON.stringify(costsFile('ip-lookup', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0 } })), 'costs.json'));
    adaptive = await AdaptiveRun.start(router, { every: 4, adapt: { threshold: 0.5, dwell: 3 }, search: { objective: 'throughput', batch: 16, splits: false }, backends: [option('cpu'), option('null')], book });
    const a: AdaptiveRun = adaptive;
    await router.run();
    await a.settled();
    const placements = await router.handler('placements').read!();
    await router.cleanup();
    expectBalanced(router);
    const first = a.adapter.history()[0];
    expect(first.reason).toMatch(/^rt: backend null failed \(.*device lost \(configured failAfterRuns=5, run 6\)\); it runs on cpu$/);
    expect(first.moves).toEqual([]);
    expect(first.outcome).toBe('nothing to move');
    // Once: the same failure read again is no new evidence.
    expect(a.adapter.history().filter((d) => d.reason.includes('failed'))).toHaveLength(1);
    expect(placements.split('\n')[0]).toMatch(/^#1 round \d+: no move \[nothing to move\]; because rt: backend null failed/);
    expect(logs.some((l) => l.startsWith('WARN rt: ip-lookup falls back from null to cpu'))).toBe(true);
  }, 60_000);
});

describe('hetbox run --adapt (the built command)', () => {
  it('flags are checked; a lying costs file makes the run move its lookup off the null device and say why', () => {
    requireBuiltCli();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-adapt-cli-'));
    writeFileSync(path.join(dir, 'c.click'), `FromDump(FILE "${CAPTURE}", STOP true) -> Strip(14) -> CheckIPHeader -> rt :: IPLookup(FIB "${clickRouteFile(200)}", FORMAT click) -> Discard;\n`);
    // The null device (its default costs: 10 µs a batch, 2.5 µs a packet at batch 4) claimed
    // 0.001 ns a packet; cpu 1 µs; host elements free.
    writeFileSync(path.join(dir, 'lie.json'), JSON.stringify(costsFile('ip-lookup', { cpu: { perItemNs: 1000, perBatchNs: 0 }, null: { perItemNs: 0.001, perBatchNs: 0 } })));
    const bad = runHetbox(['run', 'c.click', '--adapt', '--adapt-dwell', '0'], { cwd: dir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--adapt-dwell: expected a positive integer \(samples\), got '0'/);
    expect(runHetbox(['run', 'c.click', '--costs', 'lie.json'], { cwd: dir }).stderr).toMatch(/--costs and --backends are for --adapt/);
    expect(runHetbox(['run', 'c.click', '--adapt', '--adapt-splits', 'maybe'], { cwd: dir }).stderr).toMatch(/--adapt-splits: expected on or off, got 'maybe'/);
    // Single placements only: with splits the corrected null device and the cpu would share the
    // lookup (test/planner/split-adaptive-run.test.ts), the move this test is not about.
    const r = runHetbox(['run', 'c.click', '--adapt', '--adapt-splits', 'off', '--backend', 'null', '--batch', '4', '--adapt-every', '4', '--costs', 'lie.json', '--backends', 'cpu,null', '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/adapt: starting placement rt=null; sampling every 4 batches, threshold ±50%, dwell 3/);
    expect(r.stderr).toMatch(/adapt: #1 rt null -> cpu; because rt on null: measured .* predicted \(x\d+\.\d+ for 3 samples, threshold ±50%\)/);
    expect(r.stderr).toMatch(/adapt: #1 rt: done/);
    // The CPU's own samples are real timings on a shared machine: the cpu backend's runner at
    // batch 4 may well measure slower than the corrected null device, and that evidence may move
    // the lookup back, once. Each move needs a backend's profile corrected by new evidence, and
    // the null device's simulated time then agrees with its corrected profile: no third move.
    const moves = [...r.stderr.matchAll(/adapt: #\d+ rt (\S+) -> (\S+); because/g)].map((m) => `${m[1]}->${m[2]}`);
    expect(moves[0]).toBe('null->cpu');
    expect(moves.length).toBeLessThanOrEqual(2);
    if (moves.length === 2) expect(moves[1]).toBe('cpu->null');
    const rt = (JSON.parse(r.stdout) as RunSummary).elements.find((e) => e.name === 'rt')!.counters;
    expect(rt).toMatchObject({ location: moves.length === 1 ? 'cpu' : 'null', migrations: moves.length, migrations_rolled_back: 0 });
  }, 60_000);
});
