/**
 * Cost profiles: what the planner knows about running one kernel on one backend (and variant),
 * and what a host element (one without kernels) costs on the CPU. A profile is
 *   time per batch of B items = perBatchNs + perItemNs * B              (on the device)
 *   transfer per batch        = perByteTransferNs * bytes moved           (host <-> device)
 * and `capacityBytes` bounds the structure images the backend can hold.
 *
 * Profiles come from, in order of precedence: a costs file (`hetbox plan --costs FILE`, so a
 * test or a user can model a real GPU), then this machine's calibration of the same device
 * (`hetbox calibrate`), then the backend's own `costs(kernel)` (measured runs or its defaults). `source` says which, so the explanation never passes a guess off as a
 * measurement.
 */
import { z } from 'zod';
import type { BackendName, CostModel } from '../backend.js';
import { backendNameSchema } from '../backend-registry.js';

export type ProfileSource = 'costs file' | 'measured' | 'backend default' | 'calibrated' | 'built-in estimate';

export interface CostProfile extends CostModel {
  kernel: string;
  backend: BackendName;
  variant?: string;
  source: ProfileSource;
}

/** What a host element (no kernels, always on the CPU) costs per batch and per packet. */
export interface HostCost {
  perItemNs: number;
  perBatchNs: number;
  source: ProfileSource;
}

/**
 * A rough figure for a simple header element in JavaScript (a few field reads and writes per
 * packet, one call per batch). It only sets the all-CPU baseline's scale; a costs file
 * (`hostElements`) replaces it where the real figure matters.
 */
export const BUILT_IN_HOST_COST: HostCost = { perItemNs: 10, perBatchNs: 200, source: 'built-in estimate' };

/**
 * The key of a kernel element's host side on a backend: `IPLookup@webgpu`. The host side is what
 * the element does on the CPU thread around its kernels (reading the columns out of the packets,
 * handing them to the backend, routing on the results, its accounting, the scheduler's hop into
 * it): the same class costs differently per backend (a device adds the runner's copies and
 * promise), so it is kept per class and backend.
 */
export function hostSideKey(className: string, backendLabel: string): string {
  return `${className}@${backendLabel}`;
}

const ns = z.number().finite().nonnegative();

const profileEntry = z
  .object({
    kernel: z.string().min(1),
    backend: backendNameSchema,
    variant: z.string().min(1).optional(),
    perItemNs: ns,
    perBatchNs: ns,
    perByteTransferNs: ns,
    capacityBytes: z.number().positive(),
  })
  .strict();

const HOST_SIDE_KEY = /^[A-Za-z_][A-Za-z0-9_]*@[a-z][a-z0-9-]*(\/[A-Za-z0-9_-]+)?$/;

const hostCostEntry = z.object({ perItemNs: ns, perBatchNs: ns }).strict();

/** A costs file: JSON, every field checked; a mistake names its path (`profiles[1].perItemNs`). */
export const costsFileSchema = z
  .object({
    profiles: z.array(profileEntry).default([]),
    hostElements: z
      .object({
        default: hostCostEntry.optional(),
        /** By element class name (`Classifier`), for host elements that cost more than the default. */
        byClass: z.record(z.string(), hostCostEntry).default({}),
      })
      .strict()
      .prefault({}),
    /**
     * Kernel elements' host side per backend (`"IPLookup@webgpu": {...}`): charged to the CPU stage
     * wherever the element's kernels run. Absent: 0 (unless this machine's calibration has it).
     */
    hostSide: z
      .record(z.string(), hostCostEntry)
      .superRefine((rec, ctx) => {
        for (const key of Object.keys(rec)) {
          if (!HOST_SIDE_KEY.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'expected a key Class@backend or Class@backend/variant' });
        }
      })
      .default({}),
  })
  .strict();

export type CostsFile = z.output<typeof costsFileSchema>;

export class CostsFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'CostsFileError';
  }
}

/** Parse and validate a costs file's text; errors name the file and the field. */
export function parseCostsFile(text: string, file: string): CostsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CostsFileError(file, `not JSON (${(e as Error).message})`);
  }
  const r = costsFileSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new CostsFileError(file, issues.join('; '));
  }
  const seen = new Set<string>();
  r.data.profiles.forEach((p, i) => {
    const key = profileKey(p.kernel, p.backend, p.variant);
    if (seen.has(key)) throw new CostsFileError(file, `profiles[${i}]: a second profile for ${key}`);
    seen.add(key);
  });
  return r.data;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

export function profileKey(kernel: string, backend: BackendName, variant?: string): string {
  return `${kernel}@${backend}${variant === undefined ? '' : `/${variant}`}`;
}

/** Profiles given explicitly (a costs file), looked up before anything the backends report. */
export class CostBook {
  private readonly profiles = new Map<string, CostProfile>();
  private readonly hostDefault: HostCost;
  private readonly hostByClass: Map<string, HostCost>;
  private readonly hostSideByKey: Map<string, HostCost>;

  constructor(file?: CostsFile, fileSource: ProfileSource = 'costs file') {
    for (const p of file?.profiles ?? []) {
      const { variant, ...rest } = p;
      this.profiles.set(profileKey(p.kernel, p.backend, variant), { ...rest, ...(variant === undefined ? {} : { variant }), source: fileSource });
    }
    const d = file?.hostElements.default;
    this.hostDefault = d === undefined ? BUILT_IN_HOST_COST : { ...d, source: fileSource };
    this.hostByClass = new Map(Object.entries(file?.hostElements.byClass ?? {}).map(([k, v]) => [k, { ...v, source: fileSource }]));
    this.hostSideByKey = new Map(Object.entries(file?.hostSide ?? {}).map(([k, v]) => [k, { ...v, source: fileSource }]));
  }

  /** Add (or replace) a profile, e.g. one from a calibration. */
  set(profile: CostProfile): void {
    this.profiles.set(profileKey(profile.kernel, profile.backend, profile.variant), profile);
  }

  profile(kernel: string, backend: BackendName, variant?: string): CostProfile | undefined {
    return this.profiles.get(profileKey(kernel, backend, variant));
  }

  /**
   * This machine's calibrated cost of a host element class (`hetbox calibrate`); a costs file's
   * figure for the class, when there is one, stays first.
   */
  setCalibratedHost(className: string, cost: { perItemNs: number; perBatchNs: number }): void {
    // A costs file models a machine on purpose: its host figures (a class's or the default) win.
    if (this.hostDefault.source !== 'built-in estimate') return;
    const given = this.hostByClass.get(className);
    if (given !== undefined && given.source !== 'calibrated') return;
    this.hostByClass.set(className, { perItemNs: cost.perItemNs, perBatchNs: cost.perBatchNs, source: 'calibrated' });
  }

  hostCost(className: string): HostCost {
    return this.hostByClass.get(className) ?? this.hostDefault;
  }

  /**
   * This machine's calibrated host side of a kernel element class with its kernels on
   * `backendLabel`; a costs file's figure for the same key stays first.
   */
  setCalibratedHostSide(className: string, backendLabel: string, cost: { perItemNs: number; perBatchNs: number }): void {
    const key = hostSideKey(className, backendLabel);
    const given = this.hostSideByKey.get(key);
    if (given !== undefined && given.source !== 'calibrated') return;
    this.hostSideByKey.set(key, { perItemNs: cost.perItemNs, perBatchNs: cost.perBatchNs, source: 'calibrated' });
  }

  /** The host side of `className` with its kernels on `backendLabel`; undefined: not known (charged 0, and the plan says so). */
  hostSide(className: string, backendLabel: string): HostCost | undefined {
    return this.hostSideByKey.get(hostSideKey(className, backendLabel));
  }
}
