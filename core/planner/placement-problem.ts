/**
 * The placement problem of one configuration graph: its elements in order, what each could run
 * on (every candidate backend, and why a candidate cannot be used: unavailable, no form of the
 * kernel, structure too big), and how packets share out over the edges.
 *
 * The planner reads elements only through what they declare (`static declares`: kernels and
 * structures) and the built graph (a structure's image size), so it needs nothing from an
 * element's code. Elements without kernels are host elements: always on the CPU.
 *
 * A pin (`PLACE backend` on any element, or a kernel element's own `BACKEND`) leaves the
 * element only the pinned candidate(s); a pin that cannot be honoured is a ConfigError at the
 * pin, naming the element and why.
 */
import type { BackendName } from '../backend.js';
import { canSplit, type Graph, type GraphNode } from '../graph.js';
import { kernelRegistry } from '../kernel.js';
import { splitKeyword } from '../config/args.js';
import { ConfigError, formatLocation, type SourceLocation } from '../config/source-location.js';
import { quoteUserText } from '../quote-user-text.js';
import type { CostBook, CostProfile, HostCost } from './cost-profile.js';

/** A backend (and variant) the planner may place kernels on, as the app layer found it. */
export interface BackendOption {
  backend: BackendName;
  variant?: string;
  availability: { available: true } | { available: false; reason: string };
  /** Its work runs on this machine's CPU cores (DeviceInfo.sharesHostCpu): the model charges it to the CPU stage. */
  sharesHostCpu?: boolean;
  /** The device's description (what a calibration was measured on), when available. */
  device?: string;
  /** The backend's own profile of `kernel` (measured or its defaults); undefined when it has none. */
  costs(kernel: string): CostProfile | undefined;
}

export type CandidateStatus = 'ok' | 'unavailable' | 'no-form' | 'no-fit';

export interface Candidate {
  /** `backend` or `backend/variant`. */
  label: string;
  backend: BackendName;
  variant?: string;
  status: CandidateStatus;
  /** Why the candidate cannot be used (status other than ok). */
  reason?: string;
  /** One profile per kernel of the element, in `kernels` order (empty for a host element). */
  profiles: CostProfile[];
  /** The backend's work runs on the host's CPU cores (a software device): charged to the CPU stage. */
  sharesHostCpu?: boolean;
  /**
   * The element's host side with its kernels here (columns gathered, results routed, the runner's
   * copies and promise): on the CPU thread whatever the backend. Undefined: not known (0).
   */
  hostSide?: HostCost;
  /**
   * A split placement: the element's batches shared between two single candidates in these
   * proportions (`backend`/`variant`/`profiles` are then the first part's). A configuration's
   * split pin is one; the search adds the splits it chooses.
   */
  split?: { parts: [Candidate, Candidate]; weights: [number, number] };
}

/** `webgpu:0.7,cpu:0.3`: PLACE's notation, shares to two decimals. */
export function splitLabel(parts: readonly Candidate[], weights: readonly number[]): string {
  return parts.map((p, i) => `${p.label}:${Math.round(weights[i] * 100) / 100}`).join(',');
}

/** The split of `a` (share `w`) and `b` (the rest) as a candidate of its own. */
export function splitCandidate(a: Candidate, b: Candidate, w: number): Candidate {
  const weights: [number, number] = [w, 1 - w];
  return {
    label: splitLabel([a, b], weights),
    backend: a.backend,
    ...(a.variant === undefined ? {} : { variant: a.variant }),
    status: 'ok',
    profiles: a.profiles,
    split: { parts: [a, b], weights },
  };
}

/** Whether the candidate runs (some of) the element off the CPU. */
export function offloads(c: Candidate): boolean {
  return c.split === undefined ? c.backend !== CPU || c.variant !== undefined : c.split.parts.some(offloads);
}

export interface PlannerElement {
  index: number;
  name: string;
  className: string;
  kernels: readonly string[];
  /** Bytes of structure images the element owns (what a backend must hold to run it). */
  structureBytes: number;
  /** Bytes per packet each kernel moves to a device (input columns) and back (output columns). */
  bytesIn: number[];
  bytesOut: number[];
  /** Cost of a host element (no kernels); undefined for a kernel element. */
  host?: HostCost;
  candidates: Candidate[];
  /** Downstream element indices, one per output port. */
  outputs: number[];
  /** Share of the source packets this element sees (1 = all of them). */
  share: number;
  /** Every output carries a copy of every packet (Tee); otherwise packets split evenly. */
  copies: boolean;
  /** The configuration pins it (PLACE, or a kernel element's BACKEND): `candidates` are the pinned ones only. */
  pin?: Pin;
  /**
   * Batches of this element in flight at once (`IN_FLIGHT`; its concurrency when offloaded):
   * the window a split's in-order merge has to hide a slow part's batch (cost-model.ts).
   * Undefined: DEFAULT_IN_FLIGHT.
   */
  inFlight?: number;
  /**
   * Whether its element can carry out a split placement (`SplitPlaceable`: IPLookup); the search
   * proposes splits only there. Undefined (a problem made by hand): it can.
   */
  splittable?: boolean;
}

/** The kernel elements' default `IN_FLIGHT` (IPLookup, FlowHash: `arg.int(1, 64).default(3)`). */
export const DEFAULT_IN_FLIGHT = 3;

/** A placement the configuration fixes: `PLACE backend` (any element) or `BACKEND backend` (elements that run kernels). */
export interface Pin {
  by: 'PLACE' | 'BACKEND';
  backend: BackendName;
  variant?: string;
  loc: SourceLocation;
  /** A split pin (`PLACE webgpu:0.7,cpu`): both parts and their shares. */
  split?: readonly { backend: BackendName; variant?: string; weight: number }[];
}

export function describePin(pin: Pin): string {
  return `pinned by ${pin.by} at ${formatLocation(pin.loc)}`;
}

export interface PlacementProblem {
  elements: PlannerElement[];
  /** Element indices in topological order. */
  order: number[];
  /** Where the elements' shares come from: the even split, or a run's accounting (`hetbox calibrate --config`). */
  shareSource: 'even split' | 'measured';
  /** The graph-composition factor applied to host-thread work (1: none). */
  hostFactor: number;
  /**
   * CPU cores the host thread and software devices share (1: the software device's work adds to
   * the host thread's, no overlap). cost-model.ts: the cpu stage is
   * max(host thread, each software device, (host thread + software devices) / hostCores).
   */
  hostCores: number;
}

/** Classes whose every output carries a copy of every packet (the model splits others evenly). */
const COPYING_CLASSES: ReadonlySet<string> = new Set(['Tee']);

export const CPU: BackendName = 'cpu';

export function candidateLabel(backend: BackendName, variant?: string): string {
  return variant === undefined ? backend : `${backend}/${variant}`;
}

export class PlanningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanningError';
  }
}

export interface ProblemInputs {
  graph: Graph;
  /** The backends to consider; must include cpu (where host elements and the fallback run). */
  backends: readonly BackendOption[];
  book: CostBook;
  /** Whether a form of `kernel` exists for the backend (the kernel registry by default). */
  hasForm?: (kernel: string, backend: BackendName, variant?: string) => boolean;
  /**
   * Measured share of the source packets per element name (a run of this configuration on real
   * traffic: `hetbox calibrate --config`), instead of the even split. It must name every element.
   */
  shares?: ReadonlyMap<string, number>;
  /**
   * The graph-composition factor: the configuration's all-CPU run measured over the model's sum
   * of its parts timed alone (`hetbox calibrate --config`). It scales what runs on the host
   * thread: host elements, kernel elements' host side, the CPU form of kernels. Default 1.
   */
  hostFactor?: number;
  /**
   * CPU cores the host thread and software devices (lavapipe's threads, the Verilator process)
   * can run on at once; default 1 (no overlap). `hetbox plan` gives `os.availableParallelism()`.
   */
  hostCores?: number;
}

export function buildPlacementProblem(inputs: ProblemInputs): PlacementProblem {
  const { graph, backends, book } = inputs;
  const hasForm = inputs.hasForm ?? ((k: string, b: BackendName, v?: string) => kernelRegistry.form(k, b, v) !== undefined);
  const f = inputs.hostFactor ?? 1;
  if (!(Number.isFinite(f) && f > 0)) throw new PlanningError(`graph-composition factor ${f}: expected a positive number`);
  const cores = inputs.hostCores ?? 1;
  if (!(Number.isFinite(cores) && cores >= 1)) throw new PlanningError(`host cores ${cores}: expected a number >= 1`);
  const scaled = <T extends { perItemNs: number; perBatchNs: number }>(c: T): T => (f === 1 ? c : { ...c, perItemNs: c.perItemNs * f, perBatchNs: c.perBatchNs * f });
  const cpu = backends.find((b) => b.backend === CPU && b.variant === undefined);
  if (cpu === undefined) throw new PlanningError('the cpu backend must be among the candidates (host elements run there)');
  const elements: PlannerElement[] = graph.nodes.map((node) => {
    const declares = node.cls.declares ?? { kernels: [], state: [] };
    const kernels = declares.kernels;
    let structureBytes = 0;
    for (const s of declares.state) if (s.kind === 'structure') structureBytes += node.element.structureImage(s.name)?.byteLength ?? 0;
    const bytesIn = kernels.map((k) => 4 * kernelRegistry.contract(k).inputs.length);
    const bytesOut = kernels.map((k) => 4 * kernelRegistry.contract(k).outputs.length);
    const base = {
      index: node.index,
      name: node.parsed.name,
      className: node.cls.className,
      kernels,
      structureBytes,
      bytesIn,
      bytesOut,
      outputs: node.outputs.map((o) => o.node),
      share: 0,
      copies: COPYING_CLASSES.has(node.cls.className),
      ...(kernels.length > 0 ? { inFlight: inFlightArgument(node), splittable: canSplit(node.element) } : {}),
    };
    const pin = pinOf(node, kernels.length > 0);
    const impossible = (reason: string): ConfigError =>
      new ConfigError(pin!.loc, `${quoteUserText(base.name)} (${base.className}) cannot be pinned to ${quoteUserText(pinLabel(pin!))} by ${pin!.by}: ${reason}`);
    if (kernels.length === 0) {
      if (pin !== undefined && (pin.backend !== CPU || pin.variant !== undefined)) throw impossible('it runs no kernels (a host element runs on the CPU)');
      return {
        ...base,
        host: scaled(book.hostCost(node.cls.className)),
        candidates: [{ label: CPU, backend: CPU, status: 'ok' as const, profiles: [] }],
        ...(pin === undefined ? {} : { pin }),
      };
    }
    const all = backends.map((b) => hostThreadScaled(candidateFor(base.name, base.className, kernels, structureBytes, b, book, hasForm), scaled));
    if (pin?.split !== undefined) {
      const parts = pin.split.map((part) => {
        const named = all.find((c) => c.backend === part.backend && c.variant === part.variant);
        const label = candidateLabel(part.backend, part.variant);
        if (named === undefined) throw impossible(`${label} is not among the backends planned over (${all.map((c) => c.label).join(', ')}; see --backends)`);
        if (named.status !== 'ok') throw impossible(`${label}: ${statusWords(named)}`);
        return named;
      });
      return { ...base, candidates: [splitCandidate(parts[0], parts[1], pin.split[0].weight)], pin };
    }
    if (pin !== undefined) {
      const named = all.filter((c) => c.backend === pin.backend && (pin.variant === undefined || c.variant === pin.variant));
      if (named.length === 0) {
        const variants = all.filter((c) => c.backend === pin.backend).map((c) => c.label);
        throw impossible(
          variants.length > 0
            ? `no such variant (planned over ${variants.join(', ')})`
            : `${pin.backend} is not among the backends planned over (${[...new Set(all.map((c) => c.backend))].join(', ')}; see --backends)`,
        );
      }
      const usable = named.filter((c) => c.status === 'ok');
      if (usable.length === 0) throw impossible(named.map((c) => `${named.length > 1 ? `${c.label}: ` : ''}${statusWords(c)}`).join('; '));
      return { ...base, candidates: usable, pin };
    }
    const candidates = all;
    if (!candidates.some((c) => c.status === 'ok')) {
      const why = candidates.map((c) => `${c.label}: ${c.reason ?? c.status}`).join('; ');
      throw new PlanningError(`${base.name} (${base.className}): no backend can run it (${why})`);
    }
    return { ...base, candidates };
  });
  const order = graph.order.slice();
  assignShares(elements, order);
  const measured = inputs.shares;
  if (measured !== undefined) {
    const missing = elements.filter((e) => !measured.has(e.name)).map((e) => e.name);
    if (missing.length > 0) throw new PlanningError(`measured shares name no share for ${missing.join(', ')} (a measurement of another configuration?)`);
    for (const e of elements) e.share = measured.get(e.name)!;
  }
  return { elements, order, shareSource: measured === undefined ? 'even split' : 'measured', hostFactor: f, hostCores: cores };
}

/** A candidate with its host-thread work scaled: its host side, and its profiles when it is the CPU form. */
function hostThreadScaled(c: Candidate, scaled: <T extends { perItemNs: number; perBatchNs: number }>(x: T) => T): Candidate {
  return {
    ...c,
    ...(c.hostSide === undefined ? {} : { hostSide: scaled(c.hostSide) }),
    profiles: c.backend === CPU && c.variant === undefined ? c.profiles.map(scaled) : c.profiles,
  };
}

function pinLabel(pin: Pin): string {
  if (pin.split !== undefined) return pin.split.map((p) => `${candidateLabel(p.backend, p.variant)}:${Math.round(p.weight * 100) / 100}`).join(',');
  return candidateLabel(pin.backend, pin.variant);
}

function statusWords(c: Candidate): string {
  const reason = c.reason ?? c.status;
  if (c.status === 'unavailable') return `unavailable: ${reason}`;
  if (c.status === 'no-form') return `cannot run it: ${reason}`;
  return `does not fit: ${reason}`;
}

/**
 * The node's pin: PLACE (taken out of its arguments by the graph builder), else a kernel
 * element's own BACKEND argument (where it runs its kernel at run time). Both, naming different
 * backends, contradict each other.
 */
function pinOf(node: GraphNode, runsKernels: boolean): Pin | undefined {
  const place: Pin | undefined =
    node.place === undefined
      ? undefined
      : {
          by: 'PLACE',
          backend: node.place.backend,
          ...(node.place.variant === undefined ? {} : { variant: node.place.variant }),
          loc: node.place.loc,
          ...(node.place.split === undefined ? {} : { split: node.place.split }),
        };
  const backendArg = runsKernels ? backendArgument(node) : undefined;
  if (place !== undefined && backendArg !== undefined && (place.backend !== backendArg.backend || place.variant !== undefined || place.split !== undefined)) {
    throw new ConfigError(
      place.loc,
      `${quoteUserText(node.parsed.name)} (${node.cls.className}): PLACE ${quoteUserText(pinLabel(place))} contradicts its BACKEND ${quoteUserText(backendArg.backend)} at ${formatLocation(backendArg.loc)} (run places it by BACKEND)`,
    );
  }
  return place ?? backendArg;
}

/** `IN_FLIGHT n` as written in the arguments of a class that declares the keyword, else DEFAULT_IN_FLIGHT. */
function inFlightArgument(node: GraphNode): number {
  const keywords = node.cls.args?.keywords ?? [];
  if (!keywords.includes('IN_FLIGHT')) return DEFAULT_IN_FLIGHT;
  for (const a of node.parsed.args.list) {
    const { keyword, value } = a.keyword !== undefined ? { keyword: a.keyword, value: a.value } : splitKeyword(a.raw, keywords);
    // The element's own parsing has checked it (1..64) when the graph was built.
    if (keyword === 'IN_FLIGHT') return Number(value.trim());
  }
  return DEFAULT_IN_FLIGHT;
}

/** `BACKEND x` written in the arguments of a class that declares the keyword. */
function backendArgument(node: GraphNode): Pin | undefined {
  const keywords = node.cls.args?.keywords ?? [];
  if (!keywords.includes('BACKEND')) return undefined;
  for (const a of node.parsed.args.list) {
    const { keyword, value } = a.keyword !== undefined ? { keyword: a.keyword, value: a.value } : splitKeyword(a.raw, keywords);
    if (keyword === 'BACKEND') return { by: 'BACKEND', backend: value.trim(), loc: a.loc };
  }
  return undefined;
}

function candidateFor(
  element: string,
  className: string,
  kernels: readonly string[],
  structureBytes: number,
  b: BackendOption,
  book: CostBook,
  hasForm: (kernel: string, backend: BackendName, variant?: string) => boolean,
): Candidate {
  const label = candidateLabel(b.backend, b.variant);
  const hostSide = book.hostSide(className, label);
  const ident = {
    label,
    backend: b.backend,
    ...(b.variant === undefined ? {} : { variant: b.variant }),
    ...(b.sharesHostCpu === true ? { sharesHostCpu: true } : {}),
    ...(hostSide === undefined ? {} : { hostSide }),
  };
  const missing = kernels.find((k) => !hasForm(k, b.backend, b.variant));
  if (missing !== undefined) return { ...ident, status: 'no-form', reason: `no ${missing} form for ${label}`, profiles: [] };
  if (!b.availability.available) return { ...ident, status: 'unavailable', reason: b.availability.reason, profiles: [] };
  const profiles: CostProfile[] = [];
  for (const k of kernels) {
    const p = book.profile(k, b.backend, b.variant) ?? b.costs(k);
    if (p === undefined) return { ...ident, status: 'unavailable', reason: `no cost profile for ${k} on ${label}`, profiles: [] };
    profiles.push(p);
  }
  const capacity = Math.min(...profiles.map((p) => p.capacityBytes));
  if (structureBytes > capacity) {
    return {
      ...ident,
      status: 'no-fit',
      reason: `${element}'s structures need ${formatBytes(structureBytes)}, ${label} holds ${formatBytes(capacity)} (${formatBytes(structureBytes - capacity)} short)`,
      profiles,
    };
  }
  return { ...ident, status: 'ok', profiles };
}

/**
 * Share of the source packets each element sees: the sources split the input evenly, and an
 * element splits what it sees evenly over its outputs (the model cannot know a classifier's
 * traffic mix), except a copying element (Tee), whose every output carries everything.
 */
function assignShares(elements: PlannerElement[], order: readonly number[]): void {
  const sources = elements.filter((_, i) => !elements.some((e) => e.outputs.includes(i)));
  for (const s of sources) s.share = 1 / sources.length;
  for (const i of order) {
    const e = elements[i];
    if (e.outputs.length === 0) continue;
    const each = e.copies ? e.share : e.share / e.outputs.length;
    for (const o of e.outputs) elements[o].share += each;
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
