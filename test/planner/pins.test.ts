/**
 * Pins (issue 11 item 4): `PLACE backend` in any element's arguments, or a kernel element's own
 * `BACKEND`, fixes where the planner puts it; an impossible pin is a ConfigError naming the
 * element, file:line:column and the reason. Costs by hand, as in planner.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { explainPlan, formatPlanReport } from '../../core/planner/explain.js';
import { buildPlacementProblem } from '../../core/planner/placement-problem.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { ConfigError } from '../../core/config/source-location.js';
import { checkCommand } from '../../app/cli/check-command.js';
import { runPlan } from '../../app/cli/plan-command.js';
import { costsFile, graphOf, option, problemOf } from './support.js';

const BATCH = 1000;
/** The CPU wins this one (100 ns a packet against null's 1 us): a pin to null must override it. */
const CPU_WINS = costsFile('flow-hash', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1000, perBatchNs: 0 } });

/** The ConfigError `f` throws (failing when it throws something else, or nothing). */
function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('PLACE pins', () => {
  it('is taken out of the element\'s arguments and recorded with its place; run builds the graph as without it', () => {
    const g = graphOf('Idle -> fh :: FlowHash(OFFSET 14, PLACE null) -> Discard;\n');
    const fh = g.byName.get('fh')!;
    expect(fh.place).toEqual({ backend: 'null', loc: { file: 'plan-test.click', line: 1, column: 35 } });
    expect(fh.parsed.args.list.map((a) => a.raw)).toEqual(['OFFSET 14']);
    expect(g.byName.get('Idle@1')!.place).toBeUndefined();
  });

  it('a pinned element has only that candidate, even where it loses; the explanation says where the pin is', () => {
    const free = explainPlan(problemOf('Idle -> fh :: FlowHash -> Discard;\n', CPU_WINS), { splits: false, objective: 'throughput', batch: BATCH });
    expect(free.chosen.placement.fh).toBe('cpu');
    const problem = problemOf('Idle -> fh :: FlowHash(PLACE null) -> Discard;\n', CPU_WINS);
    const fh = problem.elements.find((e) => e.name === 'fh')!;
    expect(fh.candidates.map((c) => c.label)).toEqual(['null']);
    const report = explainPlan(problem, { splits: false, objective: 'throughput', batch: BATCH });
    expect(report.chosen.placement.fh).toBe('null');
    const e = report.elements.find((x) => x.name === 'fh')!;
    expect(e.pinned).toBe('pinned by PLACE at plan-test.click:1:24');
    expect(e.candidates).toHaveLength(1);
    expect(e.candidates[0].why).toBe('pinned by PLACE at plan-test.click:1:24');
    expect(formatPlanReport(report, 't.click')).toMatch(/^fh \(FlowHash; .*\) -> null \(pinned by PLACE at plan-test\.click:1:24\)$/m);
    // Every baseline keeps the pin.
    for (const b of report.baselines) expect(b.placement.fh).toBe('null');
  });

  it('PLACE cpu on a host element is accepted', () => {
    const report = explainPlan(problemOf('Idle -> c :: Counter(PLACE cpu) -> Discard;\n', CPU_WINS), { splits: false, objective: 'throughput', batch: BATCH });
    expect(report.chosen.placement.c).toBe('cpu');
    expect(report.elements.find((x) => x.name === 'c')!.pinned).toBe('pinned by PLACE at plan-test.click:1:22');
  });

  it('BACKEND is a pin too', () => {
    const report = explainPlan(problemOf('Idle -> fh :: FlowHash(BACKEND null) -> Discard;\n', CPU_WINS), { splits: false, objective: 'throughput', batch: BATCH });
    expect(report.chosen.placement.fh).toBe('null');
    expect(report.elements.find((x) => x.name === 'fh')!.candidates.map((c) => c.why)).toEqual(['pinned by BACKEND at plan-test.click:1:24']);
    // PLACE agreeing with BACKEND is the same pin (PLACE's place is named).
    const both = explainPlan(problemOf('Idle -> fh :: FlowHash(BACKEND null, PLACE null) -> Discard;\n', CPU_WINS), { splits: false, objective: 'throughput', batch: BATCH });
    expect(both.elements.find((x) => x.name === 'fh')!.pinned).toBe('pinned by PLACE at plan-test.click:1:38');
  });
});

describe('impossible pins are located errors naming the element and the reason', () => {
  it('an unknown backend, a split, an empty or repeated PLACE: at graph building (check and run too)', () => {
    const unknown = configError(() => graphOf('Idle -> fh :: FlowHash(PLACE tpu) -> Discard;\n'));
    expect(unknown.message).toBe("plan-test.click:1:24: bad PLACE: unknown backend 'tpu' (expected cpu, webgpu, gpujs, fpga, null)");
    expect(configError(() => graphOf('Idle -> fh :: FlowHash(PLACE webgpu:0.7,cpu) -> Discard;\n')).message).toMatch(
      /^plan-test\.click:1:24: 'fh' \(FlowHash\) cannot split its batches between backends \(run carries out splits for IPLookup\)$/,
    );
    expect(configError(() => graphOf('Idle -> d :: Discard(PLACE);\n')).message).toBe('plan-test.click:1:22: bad PLACE: expected a backend name');
    expect(configError(() => graphOf('Idle -> fh :: FlowHash(PLACE cpu, PLACE null) -> Discard;\n')).message).toBe('plan-test.click:1:35: keyword PLACE given twice');
  });

  it('the backend is unavailable', () => {
    const e = configError(() => problemOf('Idle -> fh :: FlowHash(PLACE null) -> Discard;\n', CPU_WINS, [option('cpu'), option('null', 'no such card')]));
    expect(e.loc).toEqual({ file: 'plan-test.click', line: 1, column: 24 });
    expect(e.message).toBe("plan-test.click:1:24: 'fh' (FlowHash) cannot be pinned to 'null' by PLACE: unavailable: no such card");
  });

  it('the kernel has no form there', () => {
    const book = new CostBook(parseCostsFile(JSON.stringify(CPU_WINS), 'costs.json'));
    const graph = graphOf('Idle -> fh :: FlowHash(PLACE null) -> Discard;\n');
    const e = configError(() => buildPlacementProblem({ graph, backends: [option('cpu'), option('null')], book, hasForm: (_k, b) => b === 'cpu' }));
    expect(e.message).toBe("plan-test.click:1:24: 'fh' (FlowHash) cannot be pinned to 'null' by PLACE: cannot run it: no flow-hash form for null");
  });

  it('the structure does not fit', () => {
    const file = costsFile('ip-lookup', { cpu: { perItemNs: 100, perBatchNs: 0 }, null: { perItemNs: 1, perBatchNs: 0, capacityBytes: 1024 } });
    const e = configError(() => problemOf('Idle -> rt :: IPLookup(10.0.0.0/8 0, PLACE null) -> Discard;\n', file));
    expect(e.message).toMatch(/^plan-test\.click:1:38: 'rt' \(IPLookup\) cannot be pinned to 'null' by PLACE: does not fit: rt's structures need .* null holds 1\.0 KiB \(.* short\)$/);
  });

  it('an element without kernels pinned anywhere but cpu', () => {
    const e = configError(() => problemOf('Idle -> c :: Counter(PLACE null) -> Discard;\n', CPU_WINS));
    expect(e.message).toBe("plan-test.click:1:22: 'c' (Counter) cannot be pinned to 'null' by PLACE: it runs no kernels (a host element runs on the CPU)");
  });

  it('a backend left out of the planning, and a variant that is not there', () => {
    const e = configError(() => problemOf('Idle -> fh :: FlowHash(PLACE null) -> Discard;\n', CPU_WINS, [option('cpu')]));
    expect(e.message).toBe("plan-test.click:1:24: 'fh' (FlowHash) cannot be pinned to 'null' by PLACE: null is not among the backends planned over (cpu; see --backends)");
    const v = configError(() => problemOf('Idle -> fh :: FlowHash(PLACE null/fast) -> Discard;\n', CPU_WINS));
    expect(v.message).toBe("plan-test.click:1:24: 'fh' (FlowHash) cannot be pinned to 'null/fast' by PLACE: no such variant (planned over null)");
  });

  it('BACKEND pins the same way, and PLACE contradicting BACKEND is an error', () => {
    const e = configError(() => problemOf('Idle -> fh :: FlowHash(BACKEND null) -> Discard;\n', CPU_WINS, [option('cpu'), option('null', 'no such card')]));
    expect(e.message).toBe("plan-test.click:1:24: 'fh' (FlowHash) cannot be pinned to 'null' by BACKEND: unavailable: no such card");
    const c = configError(() => problemOf('Idle -> fh :: FlowHash(BACKEND null, PLACE cpu) -> Discard;\n', CPU_WINS));
    expect(c.message).toBe("plan-test.click:1:38: 'fh' (FlowHash): PLACE 'cpu' contradicts its BACKEND 'null' at plan-test.click:1:24 (run places it by BACKEND)");
  });
});

describe('the commands', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-pins-'));
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'hetbox-pins-cache-')) };

  it('hetbox check accepts a valid PLACE and names an unknown backend where it is written', async () => {
    const ok = file('ok.click', 'Idle -> fh :: FlowHash(PLACE null) -> Counter(PLACE cpu) -> Discard;\n');
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    try {
      expect(await checkCommand([ok])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toBe(`${ok}: OK (4 elements, 3 connections)\n`);
    const bad = file('bad.click', 'Idle -> fh :: FlowHash(PLACE tpu) -> Discard;\n');
    await expect(checkCommand([bad])).rejects.toThrow(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:24: bad PLACE: unknown backend 'tpu'`));
  });

  it('hetbox plan honours a pin (a pinned null is planned over without --backends) and fails on an impossible one', async () => {
    const costs = file('costs.json', JSON.stringify(CPU_WINS));
    let text = '';
    const pinned = file('pinned.click', 'Idle -> fh :: FlowHash(PLACE null) -> Discard;\n');
    expect(await runPlan([pinned, '--costs', costs], (t) => (text += t), env)).toBe(0);
    expect(text).toContain(`fh (FlowHash; kernels flow-hash; sees 100% of packets) -> null (pinned by PLACE at ${pinned}:1:24)`);
    const host = file('host.click', 'Idle -> c :: Counter(PLACE null) -> Discard;\n');
    await expect(runPlan([host, '--costs', costs], () => {}, env)).rejects.toThrow(ConfigError);
    await expect(runPlan([pinned, '--costs', costs, '--backends', 'cpu'], () => {}, env)).rejects.toThrow(`${pinned}:1:24: 'fh' (FlowHash) cannot be pinned to 'null' by PLACE: null is not among the backends planned over (cpu; see --backends)`);
  });
});
