/**
 * Builds the lookup engine's simulator (Verilator model + C++ harness) once per distinct input.
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
  // L0 and the two run-entry reads are single; the node pair reads, record header and every search step are pairs.
  const readPorts = 3 + 2 * (3 + p.recordSteps);
  return { stages, latency: stages * p.memoryLatency, maxRecordPairs: 2 ** p.recordSteps - 1, readPorts };
}

export interface SimBuild {
  key: string;
  dir: string;
  binary: string;
  /** True when the model came from the cache. */
  cached: boolean;
  ms: number;
  params: ResolvedSimParams;
  tools: ToolVersions;
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

export function rtlFiles(root = projectRoot()): string[] {
  const dir = rtlDir(root);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.v'))
    .sort()
    .map((f) => path.join(dir, f));
}

function harnessFiles(root: string): string[] {
  const dir = path.join(root, 'hwsim', 'harness');
  return readdirSync(dir)
    .filter((f) => /\.(cpp|h)$/.test(f))
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

/** The cache key: sources, flags, parameters and tool versions. */
export async function buildKey(params: SimParams, root = projectRoot()): Promise<string> {
  const p = simParamsSchema.parse(params);
  const tools = await toolVersions();
  const h = createHash('sha256');
  for (const f of [...rtlFiles(root), ...harnessFiles(root)]) {
    h.update(path.relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  h.update(JSON.stringify(verilatorArgs(p, [], 'obj'))).update(tools.verilator).update(tools.compiler);
  return h.digest('hex').slice(0, 20);
}

export function cacheRoot(root = projectRoot()): string {
  return path.join(root, '.cache', 'hwsim');
}

const buildMemo = new Map<string, Promise<SimBuild>>();

/** The simulator binary for `params`, built now or taken from the cache. */
export function buildSimulator(params: SimParams = DEFAULT_SIM_PARAMS, root = projectRoot()): Promise<SimBuild> {
  const p = simParamsSchema.parse(params);
  const memoKey = `${root}|${JSON.stringify(p)}`;
  let b = buildMemo.get(memoKey);
  if (b === undefined) {
    b = buildUncached(p, root);
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

async function buildUncached(p: ResolvedSimParams, root: string): Promise<SimBuild> {
  const t0 = performance.now();
  const tools = await toolVersions();
  const key = await buildKey(p, root);
  const dir = path.join(cacheRoot(root), key);
  const binary = path.join(dir, SIM_BINARY);
  if (existsSync(binary)) return { key, dir, binary, cached: true, ms: performance.now() - t0, params: p, tools };

  await fs.mkdir(cacheRoot(root), { recursive: true });
  const tmp = path.join(cacheRoot(root), `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    const mdir = path.join(tmp, 'obj');
    const files = [...rtlFiles(root), ...harnessFiles(root).filter((f) => f.endsWith('.cpp'))];
    try {
      await run('verilator', verilatorArgs(p, files, mdir), { cwd: tmp, timeout: 300_000, maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as Error & { stderr?: string };
      const tail = (err.stderr ?? err.message).trim().split('\n').slice(-15).join('\n');
      throw new Error(`hwsim: Verilator build failed:\n${tail}`);
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
