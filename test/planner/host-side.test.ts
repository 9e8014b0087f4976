/**
 * The model's terms from issue 11's measurement, worked by hand from configured costs (batch 100,
 * no transfers, Counter 20 ns a packet, other host elements free):
 *   ip-lookup: cpu form 50 ns a packet; null (a device) 1000 ns a batch + 10 ns a packet.
 *   host side: IPLookup@cpu 5 ns a packet; IPLookup@null 500 ns a batch + 30 ns a packet.
 * Idle -> c :: Counter -> rt :: IPLookup -> Discard, every element sees every packet:
 *   all-CPU      cpu stage 2000 + 5000 + 500 = 7500 ns            13.33 Mpps
 *   rt on null   null stage 1000 + 1000 = 2000 ns;
 *                cpu stage 2000 + 500 + 3000 = 5500 ns (host side stays on the host thread): 18.18 Mpps
 *                (without the host side the device would limit it: 50 Mpps)
 * Then the measured shares (instead of the even split) and the graph-composition factor, and a
 * smoke run of `hetbox calibrate --config` on cpu and the null backend storing both and the host
 * sides, which `hetbox plan --json` then carries per candidate.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crossoverBatch, predict } from '../../core/planner/cost-model.js';
import { CostBook, CostsFileError, parseCostsFile } from '../../core/planner/cost-profile.js';
import { explainPlan, formatPlanReport, planReportJson, type PlanReport } from '../../core/planner/explain.js';
import { buildPlacementProblem, PlanningError } from '../../core/planner/placement-problem.js';
import { readCalibrationStore } from '../../core/planner/calibration-store.js';
import { runCalibrate } from '../../app/cli/calibrate-command.js';
import { runPlan } from '../../app/cli/plan-command.js';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';
import { DATA } from '../elements/helpers.js';
import { graphOf, option, problemOf } from './support.js';

const ROUTES = path.join(PROJECT_ROOT, 'examples', 'routes.txt');
const CAPTURE = path.join(DATA, 'pcaps', 'pcapplusplus', 'example.pcap');

const CONFIG = 'Idle -> c :: Counter -> rt :: IPLookup(0/0 0) -> Discard;\n';

function costs(hostSide: Record<string, { perItemNs: number; perBatchNs: number }>): unknown {
  return {
    profiles: [
      { kernel: 'ip-lookup', backend: 'cpu', perItemNs: 50, perBatchNs: 0, perByteTransferNs: 0, capacityBytes: 2 ** 30 },
      { kernel: 'ip-lookup', backend: 'null', perItemNs: 10, perBatchNs: 1000, perByteTransferNs: 0, capacityBytes: 2 ** 30 },
    ],
    hostElements: { default: { perItemNs: 0, perBatchNs: 0 }, byClass: { Counter: { perItemNs: 20, perBatchNs: 0 } } },
    hostSide,
  };
}

const SIDES = { 'IPLookup@cpu': { perItemNs: 5, perBatchNs: 0 }, 'IPLookup@null': { perItemNs: 30, perBatchNs: 500 } };
const BATCH = 100;

function cpuStage(p: ReturnType<typeof predict>): number {
  return p.stages.find((s) => s.name === 'cpu')!.nsPerBatch;
}

describe('kernel element host side', () => {
  it('is charged to the cpu stage wherever the kernel runs', () => {
    const problem = problemOf(CONFIG, costs(SIDES));
    const rt = problem.elements.findIndex((e) => e.name === 'rt');
    const on = (backend: string): number[] => problem.elements.map((e, i) => (i === rt ? e.candidates.findIndex((c) => c.label === backend) : 0));
    const cpu = predict(problem, on('cpu'), { batch: BATCH });
    expect(cpuStage(cpu)).toBeCloseTo(7500, 6);
    expect(cpu.throughputPps).toBeCloseTo(BATCH / 7500e-9, -2);
    const dev = predict(problem, on('null'), { batch: BATCH });
    expect(dev.stages.find((s) => s.name === 'null')!.nsPerBatch).toBeCloseTo(2000, 6);
    expect(cpuStage(dev)).toBeCloseTo(5500, 6);
    expect(dev.bottleneck).toBe('cpu');
    expect(dev.throughputPps).toBeCloseTo(BATCH / 5500e-9, -2);
    // On the path: Counter 2000 + the element's device time 2000 + its host side 3500.
    expect(dev.pathNs).toBeCloseTo(7500, 6);

    // Without the term the device limits the same placement: what the model said before.
    const bare = problemOf(CONFIG, costs({}));
    expect(predict(bare, on('null'), { batch: BATCH }).throughputPps).toBeCloseTo(BATCH / 2000e-9, -2);
  });

  it('moves the crossover batch: the host side must also beat the CPU form', () => {
    const problem = problemOf(CONFIG, costs(SIDES));
    const e = problem.elements.find((x) => x.name === 'rt')!;
    const cpu = e.candidates.find((c) => c.label === 'cpu')!;
    const dev = e.candidates.find((c) => c.label === 'null')!;
    // cpu 55 b; null max(1000 + 10 b, 500 + 30 b): 1000 + 10 b < 55 b from b = 23.
    expect(crossoverBatch(e, cpu, dev)).toBe(23);
    // Host side 60 ns a packet on null: it never beats 55 ns a packet on the CPU.
    const worse = problemOf(CONFIG, costs({ ...SIDES, 'IPLookup@null': { perItemNs: 60, perBatchNs: 0 } })).elements.find((x) => x.name === 'rt')!;
    expect(crossoverBatch(worse, worse.candidates.find((c) => c.label === 'cpu')!, worse.candidates.find((c) => c.label === 'null')!)).toBeUndefined();
  });

  it('is shown per candidate in the text and carried by --json; a missing one says not calibrated', () => {
    const report = explainPlan(problemOf(CONFIG, costs({ 'IPLookup@null': SIDES['IPLookup@null'] })), { objective: 'throughput', batch: BATCH, splits: false });
    const rt = report.elements.find((e) => e.name === 'rt')!;
    const onNull = rt.candidates.find((c) => c.backend === 'null')!;
    expect(onNull.hostSideNs).toBeCloseTo(3500, 6);
    expect(onNull.hostSideSource).toBe('costs file');
    const onCpu = rt.candidates.find((c) => c.backend === 'cpu')!;
    expect(onCpu.hostSideNs).toBe(0);
    expect(onCpu.hostSideSource).toBe('not calibrated');
    // Host elements have no host side of their own: their cost is all of it.
    expect(report.elements.find((e) => e.name === 'c')!.candidates[0].hostSideNs).toBeUndefined();
    const text = formatPlanReport(report, 't.click');
    expect(text).toMatch(/null .*3\.50 µs host side/);
    expect(text).toMatch(/cpu .*host side not calibrated/);
    const json = JSON.parse(planReportJson(report)) as PlanReport;
    expect(json.elements.find((e) => e.name === 'rt')!.candidates.find((c) => c.backend === 'null')!.hostSideNs).toBeCloseTo(3500, 6);
  });

  it('a costs file names a bad host side key; calibration does not replace a costs file figure', () => {
    expect(() => parseCostsFile(JSON.stringify({ hostSide: { IPLookup: { perItemNs: 1, perBatchNs: 0 } } }), 'c.json')).toThrow(CostsFileError);
    expect(() => parseCostsFile(JSON.stringify({ hostSide: { IPLookup: { perItemNs: 1, perBatchNs: 0 } } }), 'c.json')).toThrow(/c\.json: hostSide\.IPLookup: .*Class@backend/);
    const book = new CostBook(parseCostsFile(JSON.stringify({ hostSide: { 'IPLookup@null': { perItemNs: 1, perBatchNs: 2 } } }), 'c.json'));
    book.setCalibratedHostSide('IPLookup', 'null', { perItemNs: 9, perBatchNs: 9 });
    book.setCalibratedHostSide('IPLookup', 'cpu', { perItemNs: 3, perBatchNs: 4 });
    expect(book.hostSide('IPLookup', 'null')).toEqual({ perItemNs: 1, perBatchNs: 2, source: 'costs file' });
    expect(book.hostSide('IPLookup', 'cpu')).toEqual({ perItemNs: 3, perBatchNs: 4, source: 'calibrated' });
    expect(book.hostSide('FlowHash', 'cpu')).toBeUndefined();
  });
});

describe('graph-composition factor', () => {
  it('scales host-thread work (host elements, host side, the CPU form), never a device', () => {
    const book = new CostBook(parseCostsFile(JSON.stringify(costs(SIDES)), 'c.json'));
    const build = (soft: boolean) =>
      buildPlacementProblem({ graph: graphOf(CONFIG), backends: [option('cpu'), { ...option('null'), ...(soft ? { sharesHostCpu: true } : {}) }], book, hasForm: () => true, hostFactor: 2 });
    const problem = build(false);
    expect(problem.hostFactor).toBe(2);
    const rt = problem.elements.findIndex((e) => e.name === 'rt');
    const on = (p: typeof problem, backend: string): number[] => p.elements.map((e, i) => (i === rt ? e.candidates.findIndex((c) => c.label === backend) : 0));
    // All-CPU: 2 x 7500.
    expect(cpuStage(predict(problem, on(problem, 'cpu'), { batch: BATCH }))).toBeCloseTo(15000, 6);
    // On null: cpu 2 x (2000 + 3500); the device's 2000 as measured.
    const dev = predict(problem, on(problem, 'null'), { batch: BATCH });
    expect(cpuStage(dev)).toBeCloseTo(11000, 6);
    expect(dev.stages.find((s) => s.name === 'null')!.nsPerBatch).toBeCloseTo(2000, 6);
    // A software device's kernel is on the cpu stage, unscaled: 11000 + 2000.
    const soft = build(true);
    expect(cpuStage(predict(soft, on(soft, 'null'), { batch: BATCH }))).toBeCloseTo(13000, 6);
    expect(explainPlan(problem, { objective: 'throughput', batch: BATCH }).hostFactor).toBe(2);
    expect(formatPlanReport(explainPlan(problem, { objective: 'throughput', batch: BATCH }), 't.click')).toMatch(/host-thread work x 2\.00/);
    expect(() => buildPlacementProblem({ graph: graphOf(CONFIG), backends: [option('cpu')], book, hasForm: () => true, hostFactor: 0 })).toThrow(PlanningError);
  });
});

describe('measured shares', () => {
  // Counter 20 ns a packet, Paint free: the even split gives a half the packets, the measurement all.
  const SPLIT = 'src :: Idle -> cls :: Classifier(12/0800, -);\ncls[0] -> a :: Counter -> d1 :: Discard;\ncls[1] -> b :: Paint(1) -> d2 :: Discard;\n';
  const book = () => new CostBook(parseCostsFile(JSON.stringify({ hostElements: { default: { perItemNs: 0, perBatchNs: 0 }, byClass: { Counter: { perItemNs: 20, perBatchNs: 0 } } } }), 'c.json'));

  it('replace the even split, and the plan says where its shares come from', () => {
    const even = buildPlacementProblem({ graph: graphOf(SPLIT), backends: [option('cpu')], book: book() });
    expect(even.shareSource).toBe('even split');
    expect(even.elements.find((e) => e.name === 'a')!.share).toBe(0.5);
    expect(cpuStage(predict(even, even.elements.map(() => 0), { batch: BATCH }))).toBeCloseTo(1000, 6);
    const shares = new Map(Object.entries({ src: 1, cls: 1, a: 1, d1: 1, b: 0, d2: 0 }));
    const measured = buildPlacementProblem({ graph: graphOf(SPLIT), backends: [option('cpu')], book: book(), shares });
    expect(measured.shareSource).toBe('measured');
    expect(measured.elements.find((e) => e.name === 'b')!.share).toBe(0);
    expect(cpuStage(predict(measured, measured.elements.map(() => 0), { batch: BATCH }))).toBeCloseTo(2000, 6);
    const text = formatPlanReport(explainPlan(measured, { objective: 'throughput', batch: BATCH }), 't.click');
    expect(text).toMatch(/packet shares: measured/);
  });

  it('of another configuration are refused by name', () => {
    const shares = new Map(Object.entries({ src: 1, cls: 1, a: 1 }));
    expect(() => buildPlacementProblem({ graph: graphOf(SPLIT), backends: [option('cpu')], book: book(), shares })).toThrow(/no share for d1, b, d2/);
  });
});

describe('hetbox calibrate --config (smoke, cpu and null)', () => {
  it('stores the kernel element host side per backend, the shares and the composition; plan uses them', async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'hetbox-cache-'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-hostside-'));
    const config = path.join(dir, 'r.click');
    writeFileSync(config, `src :: FromDump(FILE "${CAPTURE}", STOP true) -> Strip(14) -> rt :: IPLookup(FIB "${ROUTES}", FORMAT click);\nrt[0] -> a :: Discard;\nrt[1] -> b :: Discard;\n`);
    let out = '';
    const status = await runCalibrate(
      ['--backends', 'cpu,null', '--elements', '', '--config', config, '--batches', '32,128', '--repeats', '1', '--replays', '1', '--routes', ROUTES, '--capture', CAPTURE, '--json'],
      (t) => (out += t),
      env,
    );
    expect(status).toBe(0);
    interface Side { className: string; backend: string; prefix: string; perItemNs: number; perBatchNs: number; samples: { batch: number; ns: number; elementNs: number; kernelNs: number }[] }
    const result = JSON.parse(out) as { file: string; hostSide: Side[]; shares: { shares: Record<string, number>; packets: number } | null; composition: { factor: number } | null; skipped: string[]; warnings: string[] };
    expect(result.hostSide.map((h) => `${h.className}@${h.backend}`).sort()).toEqual(['IPLookup@cpu', 'IPLookup@null']);
    for (const h of result.hostSide) {
      expect(h.prefix).toBe('Strip(14)');
      expect(h.samples.map((s) => s.batch)).toEqual([32, 128]);
      for (const v of [h.perItemNs, h.perBatchNs]) expect(Number.isFinite(v) && v >= 0).toBe(true);
    }
    // The null backend's time is simulated, not on the host thread: nothing of it is subtracted.
    for (const s of result.hostSide.find((h) => h.backend === 'null')!.samples) expect(s.kernelNs).toBe(0);
    for (const s of result.hostSide.find((h) => h.backend === 'cpu')!.samples) expect(s.kernelNs).toBeGreaterThan(0);
    // Every packet of the capture reaches the lookup; the source produced them all.
    expect(result.shares!.shares.src).toBe(1);
    expect(result.shares!.shares.rt).toBe(1);
    expect((result.shares!.shares.a ?? 0) + (result.shares!.shares.b ?? 0)).toBeLessThanOrEqual(1);
    // One round of one replay is noisy: the factor is stored, with a warning when it is far from 1.
    const stored = readCalibrationStore(result.file).store!;
    const graph = Object.values(stored.graphs ?? {})[0];
    if (result.composition === null) {
      expect(result.skipped.some((s) => /graph composition/.test(s))).toBe(true);
      expect(graph.compositionSkipped).toMatch(/no all-CPU|no factor/);
    } else {
      expect(graph.composition!.factor).toBe(result.composition.factor);
      const far = result.composition.factor < 0.5 || result.composition.factor > 4;
      expect(result.warnings.some((w) => /graph composition .* is outside/.test(w))).toBe(far);
    }

    let planned = '';
    expect(await runPlan([config, '--backends', 'null', '--json'], (t) => (planned += t), env)).toBe(0);
    const report = JSON.parse(planned) as PlanReport;
    expect(report.shareSource).toBe('measured');
    expect(report.hostFactor).toBe(result.composition?.factor ?? 1);
    const rt = report.elements.find((e) => e.name === 'rt')!;
    for (const c of rt.candidates.filter((x) => !x.backend.includes(':'))) expect(c.hostSideSource).toBe('calibrated');
    let text = '';
    expect(await runPlan([config, '--backends', 'null', '--splits', 'off'], (t) => (text += t), env)).toBe(0);
    expect(text).toMatch(/kernel element host side: IPLookup@cpu \(calibrated\), IPLookup@null \(calibrated\)/);
    expect(text).toMatch(/packet shares measured/);
  });
});
