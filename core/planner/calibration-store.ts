/**
 * Where calibrations live: the user's cache directory (`$XDG_CACHE_HOME/hetbox`, else
 * `~/.cache/hetbox`), never the work tree, one file per machine (named by a hash of host name,
 * platform, CPU model and count, memory), and in it one entry per backend label holding the
 * device it was measured on. An entry is used only while that device is the same one: a new
 * GPU, driver or simulator version makes it stale (`hetbox calibrate` redoes it). A file that
 * does not parse is reported and ignored, never trusted.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { CalibratedProfile } from './calibration.js';

export function calibrationCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  // XDG: a relative value is invalid and must be ignored.
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME ?? os.homedir(), '.cache');
  return path.join(base, 'hetbox');
}

export interface MachineIdentity {
  host: string;
  platform: string;
  arch: string;
  cpu: string;
  cpus: number;
  memoryBytes: number;
}

export function machineIdentity(): MachineIdentity {
  const cpus = os.cpus();
  return { host: os.hostname(), platform: os.platform(), arch: os.arch(), cpu: cpus[0]?.model ?? 'unknown', cpus: cpus.length, memoryBytes: os.totalmem() };
}

export function calibrationFile(env: NodeJS.ProcessEnv = process.env, machine: MachineIdentity = machineIdentity()): string {
  const key = createHash('sha256').update(JSON.stringify(machine)).digest('hex').slice(0, 16);
  return path.join(calibrationCacheDir(env), `calibration-${key}.json`);
}

const sample = z.object({ batch: z.number(), ns: z.number() });
/**
 * The machine's load while a part was calibrated (issue 11: host-side fits moved 2-10x between
 * runs on a loaded machine): the 1-minute load average when the part started and when it was
 * stored, the cores, and which clock timed the host thread (`thread cpu`: its own CPU time, which
 * load moves little; `wall`: where that clock cannot be read).
 */
const loadSchema = z.object({ before: z.number().nonnegative(), after: z.number().nonnegative(), cores: z.number().int().positive(), clock: z.enum(['thread cpu', 'wall']) });
export type CalibrationLoad = z.output<typeof loadSchema>;

/** Whether the machine had more work than cores while `load` was recorded (its figures may read high). */
export function overloaded(load: CalibrationLoad): boolean {
  return Math.max(load.before, load.after) > load.cores;
}

/** `load 9.1 -> 8.7 on 2 cores, thread cpu clock`. */
export function formatLoad(load: CalibrationLoad): string {
  return `load ${load.before.toFixed(1)} -> ${load.after.toFixed(1)} on ${load.cores} cores, ${load.clock} clock`;
}

/** The load record of a part calibrated since `before` (os.loadavg()[0] then). */
export function loadSince(before: number, clock: CalibrationLoad['clock']): CalibrationLoad {
  return { before, after: os.loadavg()[0], cores: os.availableParallelism(), clock };
}
const profile = z.object({
  kernel: z.string(),
  backend: z.string(),
  variant: z.string().optional(),
  perItemNs: z.number().nonnegative(),
  perBatchNs: z.number().nonnegative(),
  perByteTransferNs: z.number().nonnegative(),
  capacityBytes: z.number().nonnegative(),
  source: z.literal('calibrated'),
  fit: z.object({ perBatchNs: z.number(), perItemNs: z.number(), rmsNs: z.number(), relativeError: z.number() }),
  samples: z.array(sample),
  data: z.string(),
});
const hostCost = z.object({
  className: z.string(),
  spec: z.string(),
  prefix: z.string(),
  perItemNs: z.number().nonnegative(),
  perBatchNs: z.number().nonnegative(),
  fit: z.object({ perBatchNs: z.number(), perItemNs: z.number(), rmsNs: z.number(), relativeError: z.number() }),
  samples: z.array(sample),
});
/** A kernel element's host side with its kernels on one backend, measured with that device (stale when it changes). */
const hostSideCost = z.object({
  className: z.string(),
  backend: z.string(),
  device: z.string(),
  spec: z.string(),
  prefix: z.string(),
  perItemNs: z.number().nonnegative(),
  perBatchNs: z.number().nonnegative(),
  fit: z.object({ perBatchNs: z.number(), perItemNs: z.number(), rmsNs: z.number(), relativeError: z.number() }),
  samples: z.array(z.object({ batch: z.number(), ns: z.number(), elementNs: z.number(), kernelNs: z.number() })),
  calibratedAt: z.string(),
  load: loadSchema.optional(),
});
export type StoredHostSide = z.output<typeof hostSideCost>;
/**
 * Each element's share of the source packets in a run of one configuration (its accounting), by
 * the configuration's absolute path; used while the file's text hashes the same.
 */
const graphShares = z.object({
  sha256: z.string(),
  measuredAt: z.string(),
  packets: z.number(),
  shares: z.record(z.string(), z.number().nonnegative()),
  /** Its all-CPU run against the model's sum of its parts (the graph-composition factor), when it ran all-CPU. */
  composition: z.object({ batch: z.number(), measuredNsPerBatch: z.number().positive(), predictedNsPerBatch: z.number().positive(), factor: z.number().positive() }).optional(),
  /** Why there is no composition factor (not all-CPU as written, or refused as noise). */
  compositionSkipped: z.string().optional(),
  load: loadSchema.optional(),
});
export type StoredGraphShares = z.output<typeof graphShares>;
/** Host element costs: this machine's CPU, not a device, so one entry per machine file. */
const hostSchema = z.object({ calibratedAt: z.string(), data: z.string(), batches: z.array(z.number()), costs: z.array(hostCost), load: loadSchema.optional() });
export type StoredHostCalibration = z.output<typeof hostSchema>;

const storeSchema = z.object({
  version: z.literal(1),
  machine: z.object({ host: z.string(), platform: z.string(), arch: z.string(), cpu: z.string(), cpus: z.number(), memoryBytes: z.number() }),
  devices: z.record(z.string(), z.object({ device: z.string(), calibratedAt: z.string(), profiles: z.array(profile), load: loadSchema.optional() })),
  host: hostSchema.optional(),
  hostSide: z.array(hostSideCost).optional(),
  graphs: z.record(z.string(), graphShares).optional(),
});

export type CalibrationStore = z.output<typeof storeSchema>;

export interface StoreRead {
  store: CalibrationStore | null;
  /** Why the file was not used (unreadable, not a calibration), when it exists but was ignored. */
  problem?: string;
}

export function readCalibrationStore(file: string): StoreRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { store: null };
    return { store: null, problem: `${file}: ${(e as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { store: null, problem: `${file}: not JSON (${(e as Error).message}); ignored, run hetbox calibrate` };
  }
  const r = storeSchema.safeParse(json);
  if (!r.success) return { store: null, problem: `${file}: not a calibration (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}); ignored, run hetbox calibrate` };
  return { store: r.data };
}

/** The profiles calibrated for `label` on this same device, or undefined (none, or stale). */
export function calibratedProfiles(store: CalibrationStore | null, label: string, device: string): CalibratedProfile[] | undefined {
  const entry = store?.devices[label];
  if (entry === undefined || entry.device !== device) return undefined;
  return entry.profiles as CalibratedProfile[];
}

/** Record this machine's host element costs, replacing the previous ones. */
export function saveHostCalibration(file: string, host: Omit<StoredHostCalibration, 'calibratedAt'>, machine: MachineIdentity = machineIdentity()): void {
  const store: CalibrationStore = readCalibrationStore(file).store ?? { version: 1, machine, devices: {} };
  store.host = { calibratedAt: new Date().toISOString(), ...host };
  writeStore(file, store);
}

/** Record kernel elements' host sides, replacing those of the same class and backend. */
export function saveHostSides(file: string, costs: readonly Omit<StoredHostSide, 'calibratedAt'>[], machine: MachineIdentity = machineIdentity()): void {
  const store: CalibrationStore = readCalibrationStore(file).store ?? { version: 1, machine, devices: {} };
  const at = new Date().toISOString();
  const kept = (store.hostSide ?? []).filter((h) => !costs.some((c) => c.className === h.className && c.backend === h.backend));
  store.hostSide = [...kept, ...costs.map((c) => ({ ...c, calibratedAt: at }))];
  writeStore(file, store);
}

/** Record the measured shares of the configuration at `configPath` (absolute), replacing its previous entry. */
export function saveGraphShares(file: string, configPath: string, shares: Omit<StoredGraphShares, 'measuredAt'>, machine: MachineIdentity = machineIdentity()): void {
  const store: CalibrationStore = readCalibrationStore(file).store ?? { version: 1, machine, devices: {} };
  store.graphs = { ...(store.graphs ?? {}), [configPath]: { ...shares, measuredAt: new Date().toISOString() } };
  writeStore(file, store);
}

/** The measured shares of the configuration at `configPath` while its text (`sha256`) is the one measured. */
export function storedGraphShares(store: CalibrationStore | null, configPath: string, sha256: string): StoredGraphShares | undefined {
  const g = store?.graphs?.[configPath];
  return g !== undefined && g.sha256 === sha256 ? g : undefined;
}

function writeStore(file: string, store: CalibrationStore): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename: a crash mid-write leaves the old calibration, not half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(store, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Record `profiles` for `label` measured on `device`, replacing that label's entry. */
export function saveCalibration(file: string, label: string, device: string, profiles: readonly CalibratedProfile[], machine: MachineIdentity = machineIdentity(), load?: CalibrationLoad): void {
  const existing = readCalibrationStore(file).store;
  const store: CalibrationStore = existing ?? { version: 1, machine, devices: {} };
  store.devices[label] = { device, calibratedAt: new Date().toISOString(), profiles: [...profiles], ...(load === undefined ? {} : { load }) };
  writeStore(file, store);
}
