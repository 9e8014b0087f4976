/**
 * Builds our designs' simulators (Verilator model + C++ harness) once per distinct input: the
 * ip_lookup engine (`buildSimulator`) and the flow kernels' flow_lookup and flow_hash
 * (`buildFlowSimulator`). Each design is its own model, built from the RTL files named after
 * its top module and its own harness.
 *
 * The cache key hashes the RTL and harness sources, the Verilator/compiler flags, the design
 * parameters and both tool versions, so any change rebuilds and nothing else does. A build runs
 * in a private temporary directory that is renamed into `.cache/hwsim/<key>/` when complete:
 * rename is atomic, so a concurrent reader sees no model or a whole one, and when two processes
 * race, the loser discards its copy and uses the winner's.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);

export const TOP_MODULE = 'ip_lookup';
export const SIM_BINARY = 'hb-sim';
/** A Verilator build taking longer than this is killed (flow_lookup takes about 3 minutes on a busy 2-core machine). */
const BUILD_TIMEOUT_MS = 600_000;

export const simParamsSchema = z.object({
  /** Memory of 2**addressBits words; 22 holds the 2023 full table (1.63 M words) with room for deltas. */
  addressBits: z.number().int().min(17).max(26),
  /** Memory read latency in cycles: 1 is block RAM; more models off-chip SRAM behind a controller. */
  memoryLatency: z.number().int().min(1).max(16),
  /** Binary-search steps of the record resolver: records of up to 2**recordSteps-1 pairs. */
  recordSteps: z.number().int().min(1).max(12),
  /** One image array read by every stage (fast to simulate, and the default) instead of the
   * hardware's banked block-RAM copy per stage; the two answer alike (tested). */
  sharedMemory: z.boolean().default(true),
});
export type SimParams = z.input<typeof simParamsSchema>;
type ResolvedSimParams = z.output<typeof simParamsSchema>;

export const DEFAULT_SIM_PARAMS: SimParams = { addressBits: 22, memoryLatency: 1, recordSteps: 6, sharedMemory: true };

/** Pipeline figures that follow from the parameters (the harness reports the same numbers). */
export function pipelineShape(p: { recordSteps: number; memoryLatency: number }): { stages: number; latency: number; maxRecordPairs: number; readPorts: number } {
  const stages = 6 + p.recordSteps;
  // L0 and the two run-entry reads are single; the node header reads (bitmap + count word), record header and every search step are two.
  const readPorts = 3 + 2 * (3 + p.recordSteps);
  return { stages, latency: stages * p.memoryLatency, maxRecordPairs: 2 ** p.recordSteps - 1, readPorts };
}

export interface SimBuild<P = ResolvedSimParams> {
  key: string;
  dir: string;
  binary: string;
  /** True when the model came from the cache. */
  cached: boolean;
  ms: number;
  params: P;
  tools: ToolVersions;
}

/** The flow kernels' designs: hwsim/rtl/flow_lookup*.v and flow_hash.v, both driven by hwsim/harness/flow_harness.cpp. */
export const FLOW_DESIGNS = ['flow_lookup', 'flow_hash'] as const;
export type FlowDesign = (typeof FLOW_DESIGNS)[number];

export const flowSimParamsSchema = z.object({
  /** flow_lookup's memory of 2**addressBits words (22: a 256k-flow table of 16-word entries). */
  addressBits: z.number().int().min(10).max(26),
  /** Slots per bucket flow_lookup's unrolled compare covers (the host's flow table uses 8). */
  maxSlots: z.number().int().min(1).max(32),
  /** One image array (simulation, the default) or the hardware's banked copy per issuing stage. */
  sharedMemory: z.boolean().default(true),
});
export type FlowSimParams = z.input<typeof flowSimParamsSchema>;
export type ResolvedFlowSimParams = z.output<typeof flowSimParamsSchema>;

export const DEFAULT_FLOW_SIM_PARAMS: FlowSimParams = { addressBits: 22, maxSlots: 8, sharedMemory: true };

/** Pipeline figures of a flow design (flow_harness.cpp reports the same numbers). */
export function flowPipelineShape(design: FlowDesign, p: { maxSlots: number }): { stages: number; latency: number; wordsReadPerCycle: number } {
  // flow_lookup: 10 murmur3 rounds, finalizer, buckets, 2*maxSlots compares and the last compare;
  // each compare stage reads an entry's status and 10 key words. flow_hash: two stages, no memory.
  if (design === 'flow_lookup') return { stages: 13 + 2 * p.maxSlots, latency: 12 + 2 * p.maxSlots, wordsReadPerCycle: 11 * 2 * p.maxSlots };
  return { stages: 2, latency: 1, wordsReadPerCycle: 0 };
}

/** What one Verilator model is made of: its top module, sources, and flags for given files. */
interface ModelSpec {
  top: string;
  /** RTL and harness files (headers included) the model depends on: its cache key hashes them. */
  sources: string[];
  /** Verilator's arguments for compiling `files` into `mdir`. */
  args: (files: string[], mdir: string) => string[];
  /** Parameters kept in the memo key and the manifest. */
  params: object;
}

export interface ToolVersions {
  verilator: string;
  compiler: string;
}

/** The project root: the nearest ancestor holding hwsim/rtl (works from the sources and from dist/). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'hwsim', 'rtl', `${TOP_MODULE}.v`))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`hwsim: cannot find hwsim/rtl/${TOP_MODULE}.v above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function rtlDir(root = projectRoot()): string {
  return path.join(root, 'hwsim', 'rtl');
}

/** The RTL files of design `top`: hwsim/rtl/<top>*.v (file names follow module names). */
export function rtlFiles(root = projectRoot(), top: string = TOP_MODULE): string[] {
  const dir = rtlDir(root);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.v') && f.startsWith(top))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The harness files whose names start with `prefix` (ip_lookup_harness, flow_harness), and the shared `harness_*` ones they include. */
function harnessFiles(root: string, prefix = 'ip_lookup_harness'): string[] {
  const dir = path.join(root, 'hwsim', 'harness');
  return readdirSync(dir)
    .filter((f) => /\.(cpp|h)$/.test(f) && (f.startsWith(prefix) || f.startsWith('harness_')))
    .sort()
    .map((f) => path.join(dir, f));
}

let toolsMemo: Promise<ToolVersions> | undefined;

/** Versions of verilator and g++; rejects with a reason a person can act on when one is missing or broken. */
export function toolVersions(): Promise<ToolVersions> {
  toolsMemo ??= probeTools();
  // A failure is not kept: installing the tool should not need a restart.
  toolsMemo.catch(() => (toolsMemo = undefined));
  return toolsMemo;
}

/** Asks the tools found through `env.PATH` for their versions (unmemoized). */
export async function probeTools(env: NodeJS.ProcessEnv = process.env): Promise<ToolVersions> {
  const verilator = await versionOf('verilator', ['--version'], 'install Debian package `verilator` (5.x)', env);
  const compiler = await versionOf('g++', ['--version'], 'install Debian package `g++`', env);
  if (!/^Verilator 5\./.test(verilator)) throw new Error(`hwsim: need Verilator 5.x, found '${verilator}'`);
  return { verilator, compiler };
}

async function versionOf(tool: string, args: string[], hint: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run(tool, args, { timeout: 20_000, env });
    const first = stdout.split('\n')[0]?.trim() ?? '';
    if (first === '') throw new Error('printed no version');
    return first;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`hwsim: '${tool}' is not installed (${hint})`);
    throw new Error(`hwsim: '${tool} ${args.join(' ')}' failed: ${err.message.split('\n')[0]}`);
  }
}

/** Verilator's default -Os for the model halves its speed here; -O2 everywhere. */
function verilatorArgs(p: ResolvedSimParams, files: string[], mdir: string): string[] {
  const shared = p.sharedMemory ? 1 : 0;
  const defs = `-O2 -DHB_AW=${p.addressBits} -DHB_MEM_LAT=${p.memoryLatency} -DHB_REC_STEPS=${p.recordSteps} -DHB_SHARED_MEM=${shared}`;
  return [
    '--cc', '--exe', '--build', '-j', '2', '-O3', '--x-assign', 'fast', '--x-initial', 'fast',
    `-GAW=${p.addressBits}`, `-GMEM_LAT=${p.memoryLatency}`, `-GREC_STEPS=${p.recordSteps}`, `-GSHARED_MEM=${shared}`,
    '-CFLAGS', defs, '-MAKEFLAGS', 'OPT_FAST=-O2 OPT_SLOW=-O2 OPT_GLOBAL=-O2',
    '--top-module', TOP_MODULE, '--Mdir', mdir, '-o', SIM_BINARY, ...files,
  ];
}

function ipLookupSpec(p: ResolvedSimParams, root: string): ModelSpec {
  return { top: TOP_MODULE, sources: [...rtlFiles(root), ...harnessFiles(root)], args: (files, mdir) => verilatorArgs(p, files, mdir), params: p };
}

/** Verilator's arguments for a flow design (the same optimisation flags as ip_lookup's). */
function flowVerilatorArgs(design: FlowDesign, p: ResolvedFlowSimParams, files: string[], mdir: string): string[] {
  const lookup = design === 'flow_lookup';
  const defs = lookup ? `-O2 -DHB_FLOW_LOOKUP -DHB_AW=${p.addressBits} -DHB_MAX_SLOTS=${p.maxSlots} -DHB_SHARED_MEM=${p.sharedMemory ? 1 : 0}` : '-O2 -DHB_FLOW_HASH';
  const gen = lookup ? [`-GAW=${p.addressBits}`, `-GMAX_SLOTS=${p.maxSlots}`, `-GSHARED_MEM=${p.sharedMemory ? 1 : 0}`] : [];
  return [
    '--cc', '--exe', '--build', '-j', '2', '-O3', '--x-assign', 'fast', '--x-initial', 'fast', ...gen,
    '-CFLAGS', defs, '-MAKEFLAGS', 'OPT_FAST=-O2 OPT_SLOW=-O2 OPT_GLOBAL=-O2',
    '--top-module', design, '--Mdir', mdir, '-o', SIM_BINARY, ...files,
  ];
}

function flowSpec(design: FlowDesign, p: ResolvedFlowSimParams, root: string): ModelSpec {
  // flow_hash has no memory: its model does not depend on the memory parameters.
  const params = design === 'flow_lookup' ? p : {};
  return { top: design, sources: [...rtlFiles(root, design), ...harnessFiles(root, 'flow_harness')], args: (files, mdir) => flowVerilatorArgs(design, p, files, mdir), params };
}

async function specKey(spec: ModelSpec, root: string): Promise<string> {
  const tools = await toolVersions();
  const h = createHash('sha256');
  for (const f of spec.sources) {
    h.update(path.relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  h.update(JSON.stringify(spec.args([], 'obj'))).update(tools.verilator).update(tools.compiler);
  return h.digest('hex').slice(0, 20);
}

/** The cache key: sources, flags, parameters and tool versions. */
export async function buildKey(params: SimParams, root = projectRoot()): Promise<string> {
  return specKey(ipLookupSpec(simParamsSchema.parse(params), root), root);
}

/** A flow design's cache key (sources, flags, parameters, tool versions). */
export async function flowBuildKey(design: FlowDesign, params: FlowSimParams = DEFAULT_FLOW_SIM_PARAMS, root = projectRoot()): Promise<string> {
  return specKey(flowSpec(design, flowSimParamsSchema.parse(params), root), root);
}

export function cacheRoot(root = projectRoot()): string {
  return path.join(root, '.cache', 'hwsim');
}

const buildMemo = new Map<string, Promise<SimBuild<object>>>();

/** The ip_lookup simulator binary for `params`, built now or taken from the cache. */
export function buildSimulator(params: SimParams = DEFAULT_SIM_PARAMS, root = projectRoot()): Promise<SimBuild> {
  const p = simParamsSchema.parse(params);
  return buildModel(ipLookupSpec(p, root), root).then((b) => ({ ...b, params: p }));
}

/** A flow design's simulator binary for `params`, built now or taken from the cache. */
export function buildFlowSimulator(design: FlowDesign, params: FlowSimParams = DEFAULT_FLOW_SIM_PARAMS, root = projectRoot()): Promise<SimBuild<ResolvedFlowSimParams>> {
  const p = flowSimParamsSchema.parse(params);
  return buildModel(flowSpec(design, p, root), root).then((b) => ({ ...b, params: p }));
}

function buildModel(spec: ModelSpec, root: string): Promise<SimBuild<object>> {
  const memoKey = `${root}|${spec.top}|${JSON.stringify(spec.params)}`;
  let b = buildMemo.get(memoKey);
  if (b === undefined) {
    b = buildUncached(spec, root);
    buildMemo.set(memoKey, b);
    // A failed build may succeed later (tool installed): do not memoize the failure.
    b.catch(() => buildMemo.delete(memoKey));
  }
  return b;
}

/** Forgets this process's memo so the next call looks at the disk cache again (tests). */
export function forgetBuilds(): void {
  buildMemo.clear();
}

async function buildUncached(spec: ModelSpec, root: string): Promise<SimBuild<object>> {
  const t0 = performance.now();
  const tools = await toolVersions();
  const key = await specKey(spec, root);
  const p = spec.params;
  const dir = path.join(cacheRoot(root), key);
  const binary = path.join(dir, SIM_BINARY);
  if (existsSync(binary)) return { key, dir, binary, cached: true, ms: performance.now() - t0, params: p, tools };

  await fs.mkdir(cacheRoot(root), { recursive: true });
  const tmp = path.join(cacheRoot(root), `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    const mdir = path.join(tmp, 'obj');
    const files = spec.sources.filter((f) => f.endsWith('.v') || f.endsWith('.cpp'));
    try {
      await run('verilator', spec.args(files, mdir), { cwd: tmp, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as Error & { stderr?: string; killed?: boolean };
      // A build killed by the timeout prints nothing: say so rather than an empty tail.
      const why = err.killed === true ? `killed after ${BUILD_TIMEOUT_MS / 1000} s (a loaded machine; the next call retries)` : err.stderr || err.message;
      const tail = why.trim().split('\n').slice(-15).join('\n');
      throw new Error(`hwsim: Verilator build of ${spec.top} failed:\n${tail}`);
    }
    await fs.rename(path.join(mdir, SIM_BINARY), path.join(tmp, SIM_BINARY));
    await fs.rm(mdir, { recursive: true, force: true });
    await fs.writeFile(path.join(tmp, 'manifest.json'), JSON.stringify({ key, params: p, tools, builtAt: new Date().toISOString() }, null, 2));
    try {
      await fs.rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Another process finished first: its model is as good as ours.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(binary)) throw e;
      return { key, dir, binary, cached: true, ms: performance.now() - t0, params: p, tools };
    }
    return { key, dir, binary, cached: false, ms: performance.now() - t0, params: p, tools };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** `verilator --lint-only -Wall` over the RTL at the given parameters; `ok` is true when it printed nothing. */
export async function lintRtl(params: SimParams = DEFAULT_SIM_PARAMS, root = projectRoot()): Promise<{ ok: boolean; output: string }> {
  await toolVersions();
  const p = simParamsSchema.parse(params);
  const args = ['--lint-only', '-Wall', '--top-module', TOP_MODULE, `-GAW=${p.addressBits}`, `-GMEM_LAT=${p.memoryLatency}`, `-GREC_STEPS=${p.recordSteps}`, `-GSHARED_MEM=${p.sharedMemory ? 1 : 0}`, ...rtlFiles(root)];
  try {
    const { stdout, stderr } = await run('verilator', args, { timeout: 60_000 });
    const output = (stdout + stderr).trim();
    return { ok: output === '', output };
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    return { ok: false, output: ((err.stdout ?? '') + (err.stderr ?? err.message)).trim() };
  }
}

/** `verilator --lint-only -Wall` over a flow design's RTL; `ok` is true when it printed nothing. */
export async function lintFlowRtl(design: FlowDesign, params: FlowSimParams = DEFAULT_FLOW_SIM_PARAMS, root = projectRoot()): Promise<{ ok: boolean; output: string }> {
  await toolVersions();
  const p = flowSimParamsSchema.parse(params);
  const gen = design === 'flow_lookup' ? [`-GAW=${p.addressBits}`, `-GMAX_SLOTS=${p.maxSlots}`, `-GSHARED_MEM=${p.sharedMemory ? 1 : 0}`] : [];
  const args = ['--lint-only', '-Wall', '--top-module', design, ...gen, ...rtlFiles(root, design)];
  try {
    const { stdout, stderr } = await run('verilator', args, { timeout: 60_000 });
    const output = (stdout + stderr).trim();
    return { ok: output === '', output };
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    return { ok: false, output: ((err.stdout ?? '') + (err.stderr ?? err.message)).trim() };
  }
}
