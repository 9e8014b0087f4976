/**
 * Bench section "ab": issue 14's items 6 and 7 against a baseline tree measured in the same run
 * (default git ref 2e5b97f, main before the data-path work; `--baseline REF` picks another),
 * checked out and built once under .cache (baseline-tree.ts). Both trees run the same child
 * script (ab-child.ts, which loads each tree's own runtime) on the same configuration text,
 * in fresh processes, interleaved (the order alternates every round):
 *   router    FromDump -> Strip -> CheckIPHeader -> IPLookup(full 2023 table) -> DecIPTTL -> Discard
 *             over 1M generated 64-128 B frames to random destinations (generated-captures.ts):
 *             run-phase rate (target >= 1.6x baseline), whole-process time (target <= 0.5x),
 *             peak RSS (Click's 111 MiB from the issue)
 *   load      the same router run on one packet: config text to initialized router (the full
 *             table's load; target <= 1/3 of baseline) and the whole process
 * Each figure is a pair of rows, the baseline's median and this tree's with its ratio to it
 * (ranges, and the rounds' paired ratios, beside them). A baseline that cannot be had is said
 * in a note and on every row of this tree (no ratio), never silently skipped.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchReport, BenchSection } from './report.js';
import { projectRoot, sharedData } from './paths.js';
import { DEFAULT_BASELINE_REF, baselineTree } from './baseline-tree.js';
import { ROUTER_CAPTURE, generatedCapture } from './generated-captures.js';
import { median, range } from './stats.js';

const ROUNDS = 3;
const CLICK_PEAK_MIB = 111;
const MiB = 2 ** 20;

interface AbRun {
  setupMs: number;
  runMs: number;
  packets: number;
  maxRssBytes: number;
  /** Spawn to exit, measured here. */
  wallMs: number;
}

/** One fresh process of ab-child.ts (from this tree) running `tree`'s runtime on `config`. */
function abChild(tree: string, config: string): AbRun {
  const script = path.join(projectRoot(), 'dist', 'bench', 'ab-child.js');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [script, tree, config], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`bench ab: child on ${tree} failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Omit<AbRun, 'wallMs'>;
  return { ...out, wallMs };
}

function loadNote(report: BenchReport, sec: BenchSection, when: string): void {
  const l = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  report.note(sec, `load average ${when}: ${l} (1, 5, 15 min; ${os.cpus().length} cores)`);
}

interface Metric {
  name: string;
  unit: string;
  /** The figure of one run. */
  of: (r: AbRun, packets: number) => number;
  target: string;
}

export async function run(report: BenchReport, options: { baseline?: string } = {}): Promise<void> {
  const ref = options.baseline ?? DEFAULT_BASELINE_REF;
  const table = sharedData('routes/bart-prefixes-2023.txt.gz');
  const capture = generatedCapture(ROUTER_CAPTURE);
  const dir = path.dirname(capture);
  const routerText = (limit: string): string => `FromDump(FILE "${capture}"${limit}) -> Strip(14) -> CheckIPHeader -> IPLookup(FIB "${table}") -> DecIPTTL -> Discard;\n`;
  const full = path.join(dir, 'ab-router.click');
  const one = path.join(dir, 'ab-router-one-packet.click');
  writeFileSync(full, routerText(''));
  writeFileSync(one, routerText(', LIMIT 1'));

  const sec = report.section(`ab: against baseline ${ref}, same run: router (Strip, CheckIPHeader, IPLookup full 2023 table, DecIPTTL) over ${ROUTER_CAPTURE.packets / 1e6}M random-destination ${ROUTER_CAPTURE.minFrame}-${ROUTER_CAPTURE.maxFrame} B frames`);
  loadNote(report, sec, 'at start');
  const base = baselineTree(ref);
  if (base.ok) report.note(sec, `baseline ${ref} = ${base.commit.slice(0, 12)} in ${path.relative(projectRoot(), base.root)} (${base.built === 'now' ? 'checked out and built now' : 'built by an earlier run'})`);
  else report.note(sec, `NO BASELINE: ${base.reason}. The rows below show this tree alone, without ratios.`);

  const runs = { cur: { full: [] as AbRun[], one: [] as AbRun[] }, base: { full: [] as AbRun[], one: [] as AbRun[] } };
  const trees: ['cur' | 'base', string][] = [['cur', projectRoot()]];
  if (base.ok) trees.push(['base', base.root]);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? trees : [...trees].reverse();
    for (const [key, tree] of order) runs[key].full.push(abChild(tree, full));
    for (const [key, tree] of order) runs[key].one.push(abChild(tree, one));
  }
  for (const [key, rs] of Object.entries(runs)) {
    for (const x of rs.full) if (x.packets !== ROUTER_CAPTURE.packets) throw new Error(`bench ab: ${key} router read ${x.packets} packets, expected ${ROUTER_CAPTURE.packets}`);
  }

  const metrics: [Metric, 'full' | 'one'][] = [
    [{ name: 'router run phase', unit: 'pkt/s', of: (x) => x.packets / (x.runMs / 1000), target: '>= 1.6x (item 6)' }, 'full'],
    [{ name: 'router whole process (spawn to exit)', unit: 'ms', of: (x) => x.wallMs, target: '<= 0.5x (item 6)' }, 'full'],
    [{ name: 'router peak RSS (VmHWM)', unit: 'MiB', of: (x) => x.maxRssBytes / MiB, target: `<= ${CLICK_PEAK_MIB} MiB, Click's figure in the issue (item 3)` }, 'full'],
    [{ name: 'full-table load: config to initialized router, 1 packet', unit: 'ms', of: (x) => x.setupMs, target: '<= 0.33x (item 3)' }, 'one'],
    [{ name: 'full-table 1-packet run, whole process', unit: 'ms', of: (x) => x.wallMs, target: '' }, 'one'],
  ];
  for (const [m, which] of metrics) {
    const digits = m.unit === 'pkt/s' ? 0 : 1;
    const cur = runs.cur[which].map((x) => m.of(x, x.packets));
    const extra: Record<string, number | string> = { range: range(cur, digits) };
    let baseline: string | undefined;
    if (base.ok) {
      const b = runs.base[which].map((x) => m.of(x, x.packets));
      baseline = `${m.name} [baseline ${ref}]`;
      report.add(sec, { name: baseline, value: median(b), unit: m.unit, extra: { range: range(b, digits) } });
      extra.pairedRatios = range(cur.map((v, i) => v / b[i]));
    } else extra.baseline = `UNAVAILABLE (${base.reason})`;
    if (m.target !== '') extra.target = m.target;
    report.add(sec, { name: `${m.name} [this tree]`, value: median(cur), unit: m.unit, baseline, extra });
  }
  report.note(sec, `${ROUNDS} interleaved rounds, fresh processes, medians; pairedRatios: each round's this-tree figure over the baseline run beside it; the same ab-child script drives both trees' own Router through the same config text`);
  loadNote(report, sec, 'at end');
}
