/**
 * Backends by name, created lazily and detected once (memoized, like onnxruntime-web's backend
 * registry): `getBackend('webgpu')` gives a ready backend or rejects with the reason it is
 * unavailable; `describeBackends()` is what `hetbox backends` prints. Importing a backend's
 * module also registers its kernel forms, so `loadAllBackends()` fills the kernel registry.
 *
 * Core holds the mechanism only: which backends exist is declared once, by the app layer
 * (`app/backend-catalog.ts`), through `registerBackendModule`. Adding a backend edits no file
 * in core. A backend module exports a factory (`createBackend(options?)`); one that cannot be
 * loaded is reported unavailable with the import error. A variant selects a flavour of one
 * backend (gpu.js's mode); the default is the first listed.
 */
import { z } from 'zod';
import type { Availability, Backend, BackendName } from './backend.js';

export interface BackendModuleSpec {
  name: BackendName;
  /** Loads the module whose `createBackend(options?)` makes the backend (a dynamic import). */
  load: () => Promise<Record<string, unknown>>;
  /** Variants `describeBackends()` lists; the first is the default. */
  variants?: readonly string[];
}

const modules: BackendModuleSpec[] = [];

/** Declare a backend (the app layer does this once per backend at start-up). */
export function registerBackendModule(spec: BackendModuleSpec): void {
  if (modules.some((m) => m.name === spec.name)) throw new Error(`backend ${spec.name} registered twice`);
  modules.push(spec);
}

/** Names of the declared backends, in declaration order. */
export function backendNames(): string[] {
  return modules.map((m) => m.name);
}

/** The variants declared for a backend (empty when it has none); the first is its default. */
export function backendVariants(name: BackendName): readonly string[] {
  return spec(name).variants ?? [];
}

/** A backend name as configurations and flags give it: checked against the declared backends. */
export const backendNameSchema = z.string().superRefine((name, ctx) => {
  if (!modules.some((m) => m.name === name)) {
    ctx.addIssue({ code: 'custom', message: `unknown backend '${name}' (expected ${backendNames().join(', ') || 'none declared'})` });
  }
});

type Factory = (options?: { variant?: string }) => Backend;

interface Entry {
  backend: Backend | null;
  availability: Availability;
}

const entries = new Map<string, Promise<Entry>>();

function entryKey(name: BackendName, variant?: string): string {
  return variant === undefined ? name : `${name}/${variant}`;
}

function spec(name: BackendName): BackendModuleSpec {
  const s = modules.find((m) => m.name === name);
  if (s === undefined) throw new Error(`unknown backend '${name}' (known: ${backendNames().join(', ')})`);
  return s;
}

async function loadFactory(s: BackendModuleSpec): Promise<Factory | string> {
  try {
    // A backend that cannot load is a runtime answer with its reason, not a crash.
    const mod = await s.load();
    const f = mod.createBackend;
    if (typeof f === 'function') return f as Factory;
    return `${s.name}: backend module has no createBackend()`;
  } catch (e) {
    return `${s.name}: backend module not loadable (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
}

async function createEntry(name: BackendName, variant?: string): Promise<Entry> {
  const s = spec(name);
  const factory = await loadFactory(s);
  if (typeof factory === 'string') return { backend: null, availability: { available: false, reason: factory } };
  let backend: Backend;
  try {
    backend = factory(variant === undefined ? undefined : { variant });
  } catch (e) {
    return { backend: null, availability: { available: false, reason: `${name}: ${e instanceof Error ? e.message : String(e)}` } };
  }
  const availability = await backend.detect();
  return { backend, availability };
}

function entry(name: BackendName, variant?: string): Promise<Entry> {
  // No variant means the default one: one backend object per mode, however it is asked for.
  variant ??= spec(name).variants?.[0];
  const key = entryKey(name, variant);
  let e = entries.get(key);
  if (e === undefined) {
    e = createEntry(name, variant);
    entries.set(key, e);
  }
  return e;
}

/** Availability of a backend (detected once per process). */
export async function backendAvailability(name: BackendName, variant?: string): Promise<Availability> {
  return (await entry(name, variant)).availability;
}

/** A ready backend, or a rejection whose message is the reason it is unavailable. */
export async function getBackend(name: BackendName, variant?: string): Promise<Backend> {
  const e = await entry(name, variant);
  if (!e.availability.available || e.backend === null) throw new Error(e.availability.available ? `${name}: no backend object` : e.availability.reason);
  return e.backend;
}

/** Import every backend module so each registers its kernel forms (the kernel suite's first step). */
export async function loadAllBackends(): Promise<void> {
  await Promise.all(modules.map((s) => loadFactory(s)));
}

export interface BackendDescription {
  name: BackendName;
  variant?: string;
  availability: Availability;
}

/** Every backend (and variant) with its device info or the reason it is unavailable. */
export async function describeBackends(): Promise<BackendDescription[]> {
  const out: BackendDescription[] = [];
  for (const s of modules) {
    for (const variant of s.variants ?? [undefined]) {
      out.push({ name: s.name, variant, availability: await backendAvailability(s.name, variant) });
    }
  }
  return out;
}

/** The text `hetbox backends` prints: one block per backend. */
export function formatBackends(list: readonly BackendDescription[]): string {
  const lines: string[] = [];
  for (const d of list) {
    const label = d.variant === undefined ? d.name : `${d.name}/${d.variant}`;
    if (!d.availability.available) {
      lines.push(`${label.padEnd(14)} unavailable: ${d.availability.reason}`);
      continue;
    }
    const dev = d.availability.device;
    lines.push(`${label.padEnd(14)} ${dev.description}${dev.software ? ' [software]' : ''}`);
    for (const [k, v] of Object.entries(dev.details)) lines.push(`${''.padEnd(16)}${k}: ${v}`);
  }
  return lines.join('\n');
}

/** Dispose every backend created so far (end of a run or a test file) and forget them. */
export async function disposeBackends(): Promise<void> {
  const all = [...entries.values()];
  entries.clear();
  for (const p of all) {
    const e = await p;
    await e.backend?.dispose();
  }
}
