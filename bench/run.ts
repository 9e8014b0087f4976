/**
 * `npm run bench`: every benchmark section, each with a baseline measured in the same run,
 * printed and written to bench/out/report.json with the machine it ran on.
 *   node dist/bench/run.js [--only NAME[,NAME]] [--baseline REF]
 *     sections: see bench/sections.ts (pipeline, pcap, elements, multi-fib, lookup-walks, backends, fpga, live, flows, migration, datapath, ab)
 *     --baseline: the git ref section ab compares against (default 2e5b97f, see bench/baseline-tree.ts)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BenchReport } from './report.js';
import { sections } from './sections.js';
import { registerBackends } from '../app/backend-catalog.js';
import { relaunchWithMemoryReuse } from '../app/memory-reuse.js';

async function main(): Promise<void> {
  // Every section times runs one after another: freed memory kept for reuse, not faulted in afresh (app/memory-reuse.ts).
  const relaunched = relaunchWithMemoryReuse(process.argv.slice(2));
  if (relaunched !== null) {
    process.exitCode = relaunched;
    return;
  }
  registerBackends();
  const { values } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string' }, baseline: { type: 'string' } } });
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = (only ?? []).filter((n) => !sections.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown bench section(s) ${unknown.join(', ')}; known: ${sections.map((s) => s.name).join(', ')}`);
  const report = new BenchReport();
  const m = report.machine;
  process.stdout.write(`hetbox bench on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}\n${m.memory}\n`);
  for (const s of sections) {
    if (only && !only.includes(s.name)) continue;
    process.stdout.write(`\n== ${s.name} ==\n`);
    const t0 = performance.now();
    await s.run(report, { baseline: values.baseline });
    process.stdout.write(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  const out = values.out ?? path.join('bench', 'out', 'report.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report.toJSON(), null, 2)}\n`);
  process.stdout.write(`\nreport written to ${out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
