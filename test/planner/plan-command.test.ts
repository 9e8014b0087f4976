/**
 * `hetbox plan` as a user runs it (in-process: the command's report goes to a collector): a
 * costs file modelling a fast GPU on the null backend, the explanation, --json, the DOT and SVG
 * pictures, and bad input named. Only cpu and null are considered (--backends), so nothing here
 * needs a GPU or the FPGA simulator.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPlan } from '../../app/cli/plan-command.js';
import { UsageError } from '../../app/cli/usage-error.js';
import type { PlanReport } from '../../core/planner/explain.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-plan-'));
/** An empty cache dir: no calibration of this machine changes what these tests expect. */
const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'hetbox-plan-cache-')) };

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function plan(args: string[]): Promise<{ status: number; out: string }> {
  let out = '';
  const status = await runPlan(
    args,
    (t) => {
      out += t;
    },
    env,
  );
  return { status, out };
}

const CONFIG = file(
  'pipeline.click',
  `src :: Idle;
fh :: FlowHash;
rt :: IPLookup(10.0.0.0/8 0, 192.168.0.0/16 1);
src -> cnt :: Counter -> fh -> rt;
rt[0] -> lan :: Discard;
rt[1] -> wan :: Discard;
`,
);

/** A GPU-like null backend: 20 us launch, 0.5 ns a packet, cheap transfers; the CPU at 50 ns a packet. */
const GPU_COSTS = file(
  'gpu.json',
  JSON.stringify({
    profiles: [
      { kernel: 'ip-lookup', backend: 'cpu', perItemNs: 50, perBatchNs: 1000, perByteTransferNs: 0, capacityBytes: 2 ** 30 },
      { kernel: 'ip-lookup', backend: 'null', perItemNs: 0.5, perBatchNs: 20000, perByteTransferNs: 0.05, capacityBytes: 2 ** 30 },
      { kernel: 'flow-hash', backend: 'cpu', perItemNs: 50, perBatchNs: 1000, perByteTransferNs: 0, capacityBytes: 2 ** 30 },
      { kernel: 'flow-hash', backend: 'null', perItemNs: 0.5, perBatchNs: 20000, perByteTransferNs: 0.05, capacityBytes: 1024 },
    ],
    hostElements: { default: { perItemNs: 5, perBatchNs: 100 } },
  }),
);

describe('hetbox plan', () => {
  it('explains the placement: every candidate, the choice, why the others lost, against the baselines', async () => {
    const r = await plan([CONFIG, '--splits', 'off', '--backends', 'null', '--costs', GPU_COSTS, '--batch', '4096']);
    expect(r.status).toBe(0);
    expect(r.out).toContain(`${CONFIG}: placement plan (objective throughput, batch 4096)`);
    expect(r.out).toMatch(/search: exact \(all 4 placement\(s\) of 2 offloadable element\(s\) evaluated; 4 evaluated\)/);
    expect(r.out).toMatch(/^rt \(IPLookup; kernels ip-lookup, structures .*\) -> null$/m);
    expect(r.out).toMatch(/^ {4}cpu .*placement .* Mpps vs .* Mpps \(.*% lower\), bottleneck cpu.*\[costs file\]$/m);
    expect(r.out).toMatch(/^cnt \(Counter; host element; sees 100% of packets\) -> cpu$/m);
    for (const name of ['all-cpu', 'all-accelerator', 'greedy']) expect(r.out).toMatch(new RegExp(`^  ${name} .*chosen is [0-9.]+x its rate`, 'm'));
    expect(r.out).toContain('stages of the chosen placement');
  });

  it('--json gives the same plan for tools; a small batch keeps everything on the CPU', async () => {
    const r = await plan([CONFIG, '--splits', 'off', '--backends', 'cpu,null', '--costs', GPU_COSTS, '--batch', '32', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.out) as PlanReport;
    expect(report.method).toBe('exact');
    // 32 packets: 1 us + 1.6 us on the CPU against a 20 us launch.
    expect(report.chosen.placement).toMatchObject({ rt: 'cpu', fh: 'cpu', cnt: 'cpu' });
    const rt = report.elements.find((e) => e.name === 'rt')!;
    expect(rt.candidates.map((c) => c.backend)).toEqual(['cpu', 'null']);
    expect(report.baselines.map((b) => b.name)).toEqual(['all-cpu', 'all-accelerator', 'greedy']);
  });

  it('--rate takes k, M and G, and adds the batch-fill wait to the latency', async () => {
    const r = await plan([CONFIG, '--splits', 'off', '--backends', 'cpu', '--costs', GPU_COSTS, '--batch', '1000', '--rate', '2M', '--json']);
    const report = JSON.parse(r.out) as PlanReport;
    expect(report.ratePps).toBe(2e6);
    // 1000 packets at 2 Mpps: 500 us to fill a batch.
    expect(report.chosen.prediction.fillWaitNs).toBeCloseTo(500_000, 6);
  });

  it('says when a structure does not fit a backend, and by how much', async () => {
    const tight = file(
      'tight.json',
      JSON.stringify({
        profiles: [{ kernel: 'ip-lookup', backend: 'null', perItemNs: 0.1, perBatchNs: 0, perByteTransferNs: 0, capacityBytes: 4096 }],
      }),
    );
    const r = await plan([CONFIG, '--splits', 'off', '--backends', 'null', '--costs', tight, '--json']);
    const rt = (JSON.parse(r.out) as PlanReport).elements.find((e) => e.name === 'rt')!;
    expect(rt.backend).toBe('cpu');
    const refused = rt.candidates.find((c) => c.backend === 'null')!;
    expect(refused.status).toBe('no-fit');
    expect(refused.why).toMatch(/does not fit: rt's structures need .*, null holds 4\.0 KiB \(.* short\)/);
  });

  it('writes a DOT and an SVG of the element graph, coloured by backend, edges labelled with rates', async () => {
    const dot = path.join(dir, 'plan.dot');
    const svg = path.join(dir, 'plan.svg');
    const r = await plan([CONFIG, '--splits', 'off', '--backends', 'null', '--costs', GPU_COSTS, '--batch', '4096', '--dot', dot, '--svg', svg]);
    expect(r.status).toBe(0);
    expect(r.out).toContain(`wrote ${dot}`);
    const dotText = readFileSync(dot, 'utf8');
    expect(dotText).toMatch(/^digraph placement \{/);
    expect(dotText).toMatch(/label="rt\\nIPLookup\\nnull: [0-9.]+ µs\/batch", fillcolor="#fff3a0", penwidth=2/);
    expect(dotText).toMatch(/label="cnt\\nCounter\\ncpu", fillcolor="#dbe9f6"/);
    expect(dotText).toMatch(/ -> .*label="\[1\] [0-9.]+ [kMG]?pps"/);
    const svgText = readFileSync(svg, 'utf8');
    expect(svgText).toContain('<svg');
    for (const name of ['src', 'cnt', 'fh', 'rt', 'lan', 'wan']) expect(svgText).toContain(`>${name}</text>`);
  });

  it('bad input is named: flags, the costs file and its field, the configuration', async () => {
    await expect(plan([CONFIG, '--objective', 'speed'])).rejects.toThrow(new UsageError("--objective: expected throughput or latency, got 'speed'"));
    await expect(plan([CONFIG, '--rate', 'fast'])).rejects.toThrow("--rate: expected packets per second (a positive number, optionally with k, M or G), got 'fast'");
    await expect(plan([CONFIG, '--rate', '0M'])).rejects.toThrow("--rate: expected packets per second");
    await expect(plan([CONFIG, '--batch', '0'])).rejects.toThrow('--batch: expected a positive integer');
    await expect(plan([CONFIG, '--backends', 'cpu,tpu'])).rejects.toThrow("--backends: unknown backend 'tpu'");
    const bad = file('bad.json', JSON.stringify({ profiles: [{ kernel: 'ip-lookup', backend: 'null', perItemNs: -2, perBatchNs: 0, perByteTransferNs: 0, capacityBytes: 1 }] }));
    await expect(plan([CONFIG, '--costs', bad, '--backends', 'null'])).rejects.toThrow(/bad\.json: profiles\[0\]\.perItemNs: /);
    await expect(plan([CONFIG, '--costs', path.join(dir, 'missing.json')])).rejects.toThrow(/--costs: cannot read .*missing\.json/);
    const broken = file('broken.click', 'Idle -> x :: NoSuchElement -> Discard;\n');
    await expect(plan([broken, '--backends', 'null'])).rejects.toThrow(/broken\.click:1:\d+: unknown element class/);
  });
});
