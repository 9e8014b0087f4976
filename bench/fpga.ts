/**
 * The fpga backend's bench: the ip_lookup pipeline simulated by Verilator on the 2023 full table
 * (one FIB, ~2.5 M image words), driven from Node over stdio.
 *
 * Section "fpga simulation": wall-clock lookups/s with 1 and 4 batches in flight, against the
 * TypeScript reference (lookupImage) on the same inputs in the same run; simulated cycles per
 * lookup and latency; the projection at the configured clock (HETBOX_FPGA_MHZ, default 200).
 * Section "fpga resources": Yosys synth_xilinx figures (cached by source hash) against the part,
 * and the block RAM the full-table image would need. HETBOX_BENCH_SYNTH=0 skips synthesis (the
 * first, uncached run takes ~100 s on a busy 2-core machine).
 */
import type { KernelIo, KernelRunStats } from '../core/backend.js';
import { lookupImage } from '../core/structures/multi-fib/image-format.js';
import { fullTableFib, randomLookupIo } from './full-table.js';
import { FpgaBackend } from '../backends/fpga/fpga-backend.js';
import { hardwareView } from '../backends/fpga/hardware-view.js';
import { synthesize } from '../hwsim/synth.js';
import { pipelineShape } from '../hwsim/build.js';
import { measureRate, type BenchReport } from './report.js';



/** Keeps `depth` batches in flight for `minMs`; returns lookups/s of wall time and the stats seen. */
async function inFlightRate(run: (io: KernelIo) => Promise<KernelRunStats>, ios: KernelIo[], depth: number, minMs: number): Promise<{ rate: number; stats: KernelRunStats[] }> {
  const stats: KernelRunStats[] = [];
  let items = 0;
  let next = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (performance.now() - t0 < minMs) {
      const io = ios[next++ % ios.length];
      stats.push(await run(io));
      items += io.count;
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  return { rate: items / ((performance.now() - t0) / 1000), stats };
}

export async function run(report: BenchReport): Promise<void> {
  const clockMHz = Number(process.env.HETBOX_FPGA_MHZ ?? 200);
  const sim = report.section('fpga simulation: ip-lookup on ip_lookup (Verilator 5, -O2), 2023 full table');
  const backend = new FpgaBackend({ clockMHz });
  const a = await backend.detect();
  if (!a.available) {
    report.note(sim, `fpga unavailable, section skipped: ${a.reason}`);
    return;
  }
  const t0 = performance.now();
  const mf = fullTableFib();
  const image = mf.image.slice();
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  const h = await backend.loadStructure('multi-fib-v4', image, mf.generation);
  const loadMs = performance.now() - t1;
  report.note(sim, `image ${image.length} words (${(image.length / 262144).toFixed(1)} MiB) built in ${buildMs.toFixed(0)} ms, loaded through the write port in ${loadMs.toFixed(0)} ms`);

  try {
    const ios = [0, 1, 2, 3].map((k) => randomLookupIo(4096, 11 + k));
    const ref = ios[0];
    const want = new Int32Array(ref.count);
    const cpu = await measureRate(() => {
      const d = ref.inputs.dst;
      for (let i = 0; i < ref.count; i++) want[i] = lookupImage(image, 0, d[i]);
    }, ref.count, 400);
    report.add(sim, { name: 'cpu lookupImage (TypeScript reference)', value: cpu.rate, unit: 'lookups/s' });

    const go = (io: KernelIo): Promise<KernelRunStats> => backend.runKernel('ip-lookup', io, [h]);
    await go(ref);
    for (let i = 0; i < ref.count; i++) {
      if (ref.outputs.nextHop[i] !== want[i]) throw new Error(`bench fpga: item ${i} differs from lookupImage (${ref.outputs.nextHop[i]} vs ${want[i]})`);
    }
    const one = await inFlightRate(go, ios, 1, 1500);
    report.add(sim, { name: 'fpga batch 4096, 1 in flight (wall)', value: one.rate, unit: 'lookups/s', baseline: 'cpu lookupImage (TypeScript reference)' });
    const four = await inFlightRate(go, ios, 4, 1500);
    report.add(sim, { name: 'fpga batch 4096, 4 in flight (wall)', value: four.rate, unit: 'lookups/s', baseline: 'cpu lookupImage (TypeScript reference)' });
    const big = [0, 1].map((k) => randomLookupIo(65536, 40 + k));
    const bigRate = await inFlightRate(go, big, 4, 2000);
    report.add(sim, { name: 'fpga batch 65536, 4 in flight (wall)', value: bigRate.rate, unit: 'lookups/s', baseline: 'cpu lookupImage (TypeScript reference)' });

    const s = four.stats.concat(bigRate.stats);
    const issue = s.reduce((n, x) => n + (x.device?.issueCycles ?? 0), 0);
    const items = four.stats.length * 4096 + bigRate.stats.length * 65536;
    const cyclesPerLookup = issue / items;
    const simCyclesPerSec = four.rate * cyclesPerLookup;
    const shape = pipelineShape(backend.params);
    report.add(sim, { name: 'simulated cycles per lookup (issue)', value: cyclesPerLookup, unit: 'cycles', extra: { latencyCycles: shape.latency, stages: shape.stages } });
    report.add(sim, { name: 'simulated cycles per wall second (4 in flight)', value: simCyclesPerSec, unit: 'cycles/s' });
    report.add(sim, {
      name: `projected at ${clockMHz} MHz`,
      value: (clockMHz * 1e6) / cyclesPerLookup,
      unit: 'lookups/s',
      baseline: 'cpu lookupImage (TypeScript reference)',
      extra: { latencyNs: (shape.latency * 1000) / clockMHz },
    });
    report.note(sim, `batch of 4096: ${four.stats[0]?.device?.cycles} cycles first request to last result (= count + latency ${shape.latency} when nothing stalls)`);
  } finally {
    await backend.dispose();
  }

  const res = report.section(`fpga resources: yosys synth_xilinx vs ${backend.options.part.name}`);
  const part = backend.options.part;
  if (process.env.HETBOX_BENCH_SYNTH === '0') {
    report.note(res, 'synthesis skipped (HETBOX_BENCH_SYNTH=0)');
    return;
  }
  let synth: Awaited<ReturnType<typeof synthesize>>;
  try {
    synth = await synthesize();
  } catch (e) {
    report.note(res, `synthesis failed: ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  const view = hardwareView(backend.params, clockMHz, part, image.length, synth);
  report.note(res, `synthesized with a ${2 ** synth.params.addressBits}-word memory in ${(synth.ms / 1000).toFixed(1)} s${synth.cached ? ' (cached)' : ''}, yosys ${synth.yosysVersion}`);
  report.add(res, { name: 'part LUTs', value: part.luts, unit: 'LUTs' });
  report.add(res, { name: 'ip_lookup LUTs', value: synth.luts, unit: 'LUTs', baseline: 'part LUTs' });
  report.add(res, { name: 'part flip-flops', value: part.flipFlops, unit: 'FFs' });
  report.add(res, { name: 'ip_lookup flip-flops', value: synth.flipFlops, unit: 'FFs', baseline: 'part flip-flops' });
  report.add(res, { name: 'part RAMB36', value: part.ramb36, unit: 'RAMB36' });
  report.add(res, { name: `ip_lookup RAMB36 (memory ${2 ** synth.params.addressBits} words)`, value: synth.bramTiles, unit: 'RAMB36', baseline: 'part RAMB36', extra: { ramb36: synth.ramb36, ramb18: synth.ramb18 } });
  report.add(res, { name: `full-table image ${image.length} words, one copy per stage`, value: view.bram.ramb36Total, unit: 'RAMB36', baseline: 'part RAMB36', extra: { perStage: view.bram.ramb36PerPort, stages: view.stages, fits: view.bram.fits } });
  for (const n of view.notes) report.note(res, n);
}
