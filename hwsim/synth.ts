/**
 * Synthesis of our designs (the ip_lookup engine: `synthesize`; the flow kernels' flow_lookup
 * and flow_hash: `synthesizeFlow`) with Yosys (`@yowasp/yosys`, WebAssembly, offline) for Xilinx
 * 7-series: LUTs, flip-flops and block RAMs, cached under `.cache/hwsim/synth-<key>.json` by the
 * hash of the RTL, the parameters and the Yosys version.
 *
 * The memory is synthesized small (2**addressBits words, default 2**10 = one RAMB36 deep) so a run
 * takes seconds; block RAM grows linearly with depth, which `bramFit` extrapolates from.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { cacheRoot, projectRoot, rtlFiles, simParamsSchema, TOP_MODULE, type FlowDesign } from './build.js';

/** Synthesis always takes the hardware memory form (SHARED_MEM=0: a banked block-RAM copy per stage). */
export const synthParamsSchema = simParamsSchema.omit({ sharedMemory: true }).extend({ addressBits: z.number().int().min(6).max(16) });
export type SynthParams = z.infer<typeof synthParamsSchema>;

export const synthResultSchema = z.object({
  params: synthParamsSchema,
  yosysVersion: z.string(),
  luts: z.number().int().nonnegative(),
  flipFlops: z.number().int().nonnegative(),
  ramb36: z.number().int().nonnegative(),
  ramb18: z.number().int().nonnegative(),
  /** RAMB36 equivalents (two RAMB18 per RAMB36). */
  bramTiles: z.number().nonnegative(),
  /** Every primitive the netlist uses, with its count. */
  cells: z.record(z.string(), z.number()),
  ms: z.number(),
});
export type SynthResult = z.infer<typeof synthResultSchema>;

export const DEFAULT_SYNTH_PARAMS: SynthParams = { addressBits: 10, memoryLatency: 1, recordSteps: 6 };

async function yosys(): Promise<{ runYosys: (args?: string[], files?: Record<string, string>, options?: object) => unknown; version: string }> {
  const mod = (await import('@yowasp/yosys')) as unknown as { runYosys: (args?: string[], files?: Record<string, string>, options?: object) => unknown; version: string };
  return mod;
}

/** Synthesizes ip_lookup at `params` (from the cache when the same sources were synthesized before). */
export async function synthesize(params: SynthParams = DEFAULT_SYNTH_PARAMS, root = projectRoot()): Promise<SynthResult & { cached: boolean }> {
  const p = synthParamsSchema.parse(params);
  const chparam = `-set AW ${p.addressBits} -set MEM_LAT ${p.memoryLatency} -set REC_STEPS ${p.recordSteps} -set SHARED_MEM 0`;
  const r = await runSynthesis(TOP_MODULE, rtlFiles(root), chparam, p, root);
  return { ...r, params: p };
}

/** flow_lookup's synthesis parameters: a small memory (the banks grow linearly with depth) and the slots per bucket. */
export const flowSynthParamsSchema = z.object({ addressBits: z.number().int().min(8).max(16), maxSlots: z.number().int().min(1).max(32) });
export type FlowSynthParams = z.infer<typeof flowSynthParamsSchema>;

/** 2**10 words: 64 rows per bank, as the ip_lookup synthesis uses one RAMB36 deep; 8 slots, the host table's. */
export const DEFAULT_FLOW_SYNTH_PARAMS: FlowSynthParams = { addressBits: 10, maxSlots: 8 };

export const flowSynthResultSchema = synthResultSchema.extend({ design: z.enum(['flow_lookup', 'flow_hash']), params: flowSynthParamsSchema.partial() });
export type FlowSynthResult = z.infer<typeof flowSynthResultSchema>;

/**
 * Synthesizes a flow design (flow_lookup in its banked hardware memory form at `params`; flow_hash
 * has no parameters), cached like `synthesize`.
 */
export async function synthesizeFlow(design: FlowDesign, params: FlowSynthParams = DEFAULT_FLOW_SYNTH_PARAMS, root = projectRoot()): Promise<FlowSynthResult & { cached: boolean }> {
  const p = design === 'flow_lookup' ? flowSynthParamsSchema.parse(params) : {};
  const chparam = design === 'flow_lookup' ? `-set AW ${params.addressBits} -set MAX_SLOTS ${params.maxSlots} -set SHARED_MEM 0` : '';
  const r = await runSynthesis(design, rtlFiles(root, design), chparam, { design, ...p }, root);
  return { ...r, design, params: p };
}

/** Yosys `synth_xilinx` of `top` from `files` with `chparam` set, cached by sources, `keyParams` and the Yosys version. */
async function runSynthesis(top: string, files: string[], chparam: string, keyParams: object, root: string): Promise<Omit<SynthResult, 'params'> & { cached: boolean }> {
  const { runYosys, version } = await yosys();
  const h = createHash('sha256');
  for (const f of files) h.update(path.basename(f)).update('\0').update(readFileSync(f)).update('\0');
  h.update(JSON.stringify(keyParams)).update(version);
  const key = h.digest('hex').slice(0, 20);
  const cacheFile = path.join(cacheRoot(root), `synth-${key}.json`);
  const cachedSchema = synthResultSchema.omit({ params: true });
  if (existsSync(cacheFile)) {
    const parsed = cachedSchema.safeParse(JSON.parse(await fs.readFile(cacheFile, 'utf8')));
    if (parsed.success) return { ...parsed.data, cached: true };
  }

  const t0 = performance.now();
  const inputs: Record<string, string> = {};
  for (const f of files) inputs[path.basename(f)] = readFileSync(f, 'utf8');
  const script = [
    // -defer: elaborate once, at the parameters below (the default 2**22-word memory is never built).
    `read_verilog -defer ${Object.keys(inputs).join(' ')}`,
    ...(chparam === '' ? [] : [`chparam ${chparam} ${top}`]),
    `hierarchy -top ${top}`,
    `synth_xilinx -family xc7 -top ${top}`,
    'tee -o stat.txt stat',
  ].join('; ');
  let log = '';
  const decoder = new TextDecoder();
  let out: unknown;
  try {
    out = await runYosys(['-q', '-p', script], inputs, {
      stdout: (b: Uint8Array | null) => {
        if (b) log += decoder.decode(b);
      },
      stderr: (b: Uint8Array | null) => {
        if (b) log += decoder.decode(b);
      },
    });
  } catch (e) {
    throw new Error(`hwsim: yosys synthesis failed: ${(e as Error).message}\n${log.slice(-2000)}`);
  }
  const tree = out as Record<string, unknown>;
  const stat = typeof tree['stat.txt'] === 'string' ? tree['stat.txt'] : tree['stat.txt'] instanceof Uint8Array ? decoder.decode(tree['stat.txt']) : log;
  const cells = parseStatCells(stat);
  const sum = (re: RegExp): number => Object.entries(cells).reduce((n, [k, v]) => (re.test(k) ? n + v : n), 0);
  const ramb36 = sum(/^RAMB36/);
  const ramb18 = sum(/^RAMB18/);
  const result = {
    params: keyParams,
    yosysVersion: version,
    luts: sum(/^LUT[1-6]$/),
    flipFlops: sum(/^FD[CPRS]E?$/),
    ramb36,
    ramb18,
    bramTiles: ramb36 + ramb18 / 2,
    cells,
    ms: performance.now() - t0,
  };
  await fs.mkdir(path.dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(result, null, 2));
  await fs.rename(tmp, cacheFile);
  return { ...result, cached: false };
}

/** Cell counts from Yosys's `stat` of the top module (the last "Number of cells" block). */
export function parseStatCells(stat: string): Record<string, number> {
  const cells: Record<string, number> = {};
  // Yosys 0.55 prints "     12   LUT6" (count first); older ones print "LUT6   12". Accept both.
  for (const line of stat.split('\n')) {
    const a = /^\s+(\d+)\s+(?:[\d.]+\s+)?([A-Z][A-Z0-9_]+)\s*$/.exec(line);
    const b = /^\s+([A-Z][A-Z0-9_]+)\s+(\d+)\s*$/.exec(line);
    if (a) cells[a[2]] = Number(a[1]);
    else if (b) cells[b[1]] = Number(b[2]);
  }
  return cells;
}
