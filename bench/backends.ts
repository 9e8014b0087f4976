/**
 * Backends bench: lookups/s and per-batch latency of every ip-lookup form (cpu, webgpu WGSL,
 * gpu.js modes) across batch sizes on the full 2023 table, WebGPU kernel-only vs end-to-end
 * (upload + dispatch + readback) and with batches in flight, the adapter named and marked
 * software/hardware, and the batch size where WebGPU overtakes CPU (or that it never does).
 * Ratios are against the cpu form at the same batch size, measured in the same run.
 */
import os from 'node:os';
import type { Backend, KernelIo, StructureHandle } from '../core/backend.js';
import { FLOW_HASH } from '../core/kernels/flow-hash/index.js';
import { IP_LOOKUP } from '../core/kernels/ip-lookup/index.js';
import { fullTableFib, randomLookupIo } from './full-table.js';
import { CpuBackend } from '../backends/cpu/cpu-backend.js';
import { WebGpuBackend } from '../backends/webgpu/webgpu-backend.js';
import { GpuJsBackend, GPUJS_MODES } from '../backends/gpujs/gpujs-backend.js';
import { fmt, measureRate, type BenchReport, type BenchSection } from './report.js';

const SIZES = [1 << 10, 1 << 14, 1 << 18, 1 << 20];
const IN_FLIGHT = 3;




const sizeName = (n: number): string => (n >= 1 << 20 ? `${n >> 20}M` : `${n >> 10}k`);

/** Keep `depth` runs in flight for `minMs`: the pipelined end-to-end rate. */
async function pipelinedRate(run: (io: KernelIo) => Promise<unknown>, ios: KernelIo[], minMs: number): Promise<number> {
  await run(ios[0]);
  let done = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() - t0 < minMs) {
      const io = ios[next++ % ios.length];
      await run(io);
      done += io.count;
    }
  };
  await Promise.all(ios.map(() => worker()));
  return done / ((performance.now() - t0) / 1000);
}

export async function run(report: BenchReport): Promise<void> {
  const t0 = performance.now();
  const mf = fullTableFib();
  const image = mf.image.slice();
  const section = report.section(`backends: ip-lookup, full 2023 table (${mf.fibNames()[0].routes} IPv4 prefixes, image ${(image.byteLength / 2 ** 20).toFixed(1)} MiB), random addresses`);
  report.note(section, `table built in ${((performance.now() - t0) / 1000).toFixed(1)} s; image ${image.length} words; next hops synthetic (the file has none)`);
  // Software WebGPU (lavapipe) runs on the same cores as everything else: say how busy they were.
  report.note(section, `load average at start ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);

  const cpu = new CpuBackend();
  const cpuH = await cpu.loadStructure('multi-fib-v4', image, mf.generation);
  const cpuRate = new Map<number, number>();
  const ios = new Map<number, KernelIo[]>();
  for (const n of SIZES) {
    ios.set(n, Array.from({ length: IN_FLIGHT }, (_v, k) => randomLookupIo(n, n + k)));
    const io = ios.get(n)![0];
    const r = await measureRate(() => cpu.runKernel(IP_LOOKUP, io, [cpuH]), n, 300);
    cpuRate.set(n, r.rate);
    report.add(section, { name: `cpu batch=${sizeName(n)}`, value: r.rate, unit: 'lookup/s', extra: { msPerBatch: r.ms / r.calls } });
  }

  const gpu = new WebGpuBackend({ ringSize: IN_FLIGHT });
  const ga = await gpu.detect();
  let overtakes: number | null = null;
  if (!ga.available) {
    report.note(section, `webgpu unavailable: ${ga.reason}`);
  } else {
    const d = ga.device;
    report.note(section, `webgpu adapter: ${d.description} (${d.details.vendor}/${d.details.architecture}) — ${d.software ? 'SOFTWARE (a CPU rasterizer: correctness vehicle, not speed)' : 'hardware'}`);
    const h = await gpu.loadStructure('multi-fib-v4', image, mf.generation);
    for (const n of SIZES) {
      const set = ios.get(n)!;
      const base = `cpu batch=${sizeName(n)}`;
      const e2e = await measureRate(() => gpu.runKernel(IP_LOOKUP, set[0], [h]), n, 300);
      report.add(section, { name: `webgpu end-to-end batch=${sizeName(n)}`, value: e2e.rate, unit: 'lookup/s', baseline: base, extra: { msPerBatch: e2e.ms / e2e.calls } });
      const piped = await pipelinedRate((io) => gpu.runKernel(IP_LOOKUP, io, [h]), set, 400);
      report.add(section, { name: `webgpu end-to-end ${IN_FLIGHT} in flight batch=${sizeName(n)}`, value: piped, unit: 'lookup/s', baseline: base });
      const repeats = Math.max(2, Math.min(50, Math.round(4e6 / n)));
      const ms = await gpu.timeKernelOnly(IP_LOOKUP, set[0], [h], repeats);
      report.add(section, { name: `webgpu kernel-only batch=${sizeName(n)}`, value: n / (ms / 1000), unit: 'lookup/s', baseline: base, extra: { msPerDispatch: ms } });
      if (overtakes === null && Math.max(e2e.rate, piped) > (cpuRate.get(n) ?? Infinity)) overtakes = n;
    }
    report.note(section, overtakes === null
      ? `webgpu (end-to-end) never overtakes cpu up to batch ${sizeName(SIZES[SIZES.length - 1])} on this ${d.software ? 'software adapter' : 'adapter'}`
      : `webgpu (end-to-end) overtakes cpu from batch ${sizeName(overtakes)}`);
    await gpu.releaseStructure(h);
  }

  for (const mode of GPUJS_MODES) {
    const g = new GpuJsBackend({ mode });
    const a = await g.detect();
    if (!a.available) {
      report.note(section, `gpujs/${mode} unavailable: ${a.reason}`);
      continue;
    }
    const h: StructureHandle = await g.loadStructure('multi-fib-v4', image, mf.generation);
    for (const n of SIZES) {
      if (mode === 'cpu' && n > 1 << 18) continue; // transpiled JS: the 256k row already says it
      const io = ios.get(n)![0];
      const r = await measureRate(() => g.runKernel(IP_LOOKUP, io, [h]), n, 300);
      report.add(section, { name: `gpujs/${mode} batch=${sizeName(n)}`, value: r.rate, unit: 'lookup/s', baseline: `cpu batch=${sizeName(n)}`, extra: { msPerBatch: r.ms / r.calls } });
    }
    await g.dispose();
  }
  report.note(section, 'gpujs rows include re-sending the split image (2 x float32 per word) on every call: gpu.js keeps nothing resident between kernel calls');

  await flowHash(report, cpu, ga.available ? gpu : null);
  await gpu.dispose();
  await cpu.dispose();
}

async function flowHash(report: BenchReport, cpu: Backend, gpu: WebGpuBackend | null): Promise<void> {
  const section: BenchSection = report.section('backends: flow-hash (RSS Toeplitz), random 4-tuples');
  for (const n of [1 << 14, 1 << 20]) {
    const io: KernelIo = { count: n, inputs: { src: randomLookupIo(n, 1).inputs.dst, dst: randomLookupIo(n, 2).inputs.dst, ports: randomLookupIo(n, 3).inputs.dst, proto: new Int32Array(n).fill(6) }, outputs: { flow: new Int32Array(n) } };
    const c = await measureRate(() => cpu.runKernel(FLOW_HASH, io, []), n, 300);
    report.add(section, { name: `cpu batch=${sizeName(n)}`, value: c.rate, unit: 'hash/s', extra: { msPerBatch: c.ms / c.calls } });
    if (gpu === null) continue;
    const g = await measureRate(() => gpu.runKernel(FLOW_HASH, io, []), n, 300);
    report.add(section, { name: `webgpu end-to-end batch=${sizeName(n)}`, value: g.rate, unit: 'hash/s', baseline: `cpu batch=${sizeName(n)}`, extra: { msPerBatch: g.ms / g.calls } });
  }
  report.note(section, `flow-hash moves 20 bytes per item for 12 table reads: transfer-bound on any GPU; ${fmt(1 << 20)} items per batch shown`);
}
