/**
 * Build a runnable element graph from a parsed configuration: resolve classes, validate each
 * element's arguments with its zod schema, check ports against the class's port spec, and
 * reject what the batch scheduler cannot run (a push output used twice, cycles), always
 * naming file:line:column.
 */
import type { Element, ElementClass } from './element.js';
import type { ParsedConfig, ParsedElement, ParsedConnection } from './config/parse.js';
import { ConfigError, type SourceLocation } from './config/source-location.js';
import { splitKeyword } from './config/args.js';
import { backendNameSchema } from './backend-registry.js';
import { ElementInputError } from './element-input-error.js';
import type { RuntimeEnv } from './runtime-env.js';
import { quoteUserText } from './quote-user-text.js';

export interface ElementClassLookup {
  find(name: string): ElementClass<unknown> | undefined;
  names(): string[];
}

export interface GraphNode {
  index: number;
  parsed: ParsedElement;
  cls: ElementClass<unknown>;
  element: Element<unknown>;
  /** outputs[port] = the one downstream (node index, input port) that port feeds. */
  outputs: { node: number; port: number }[];
  /** Number of connections arriving (over all input ports). */
  inEdges: number;
  /** `PLACE backend` written in the element's arguments: the planner's pin (run ignores it). */
  place?: PlacePin;
}

/**
 * A pin for the planner: `PLACE backend` (or `backend/variant`), a keyword every element
 * accepts. It is taken out of the arguments before the element's own parsing, so no class
 * declares it; `hetbox run` places by BACKEND (where a class has it), not by PLACE.
 */
export interface PlacePin {
  /** The backend name, checked against the declared backends. */
  backend: string;
  variant?: string;
  /** Where `PLACE ...` was written. */
  loc: SourceLocation;
  /**
   * A split placement (`PLACE webgpu:0.7,cpu`): the element's batches shared between two
   * backends in these proportions (summing to 1). `backend`/`variant` are then the first part's.
   */
  split?: PlaceShare[];
}

/** One part of a split placement. */
export interface PlaceShare {
  backend: string;
  variant?: string;
  /** Fraction of the element's batches, in (0, 1). */
  weight: number;
}

export const PLACE_KEYWORD = 'PLACE';

/**
 * An element that can carry out a split placement at run time (its kernel's batches shared
 * between backends). The graph builder hands it the split before `initialize`; a split on any
 * other element is refused at the pin, since `hetbox run` could not honour it.
 */
export interface SplitPlaceable {
  placeSplit(split: readonly PlaceShare[], loc: SourceLocation): void;
}

export function canSplit(e: object): e is SplitPlaceable {
  return typeof (e as Partial<SplitPlaceable>).placeSplit === 'function';
}

export interface Graph {
  nodes: GraphNode[];
  /** Node indices in topological order (sources first). */
  order: number[];
  byName: Map<string, GraphNode>;
}

export interface PortRange {
  min: number;
  max: number;
}

/** Click's port notation: '1', '0-1', '1-' (one or more), '-' (any). */
export function parsePortSpec(spec: string): PortRange {
  const m = /^(\d*)(-?)(\d*)$/.exec(spec.trim());
  if (!m) throw new Error(`bad port spec ${quoteUserText(spec)}`);
  const [, a, dash, b] = m;
  if (dash === '') return { min: Number(a), max: Number(a) };
  return { min: a === '' ? 0 : Number(a), max: b === '' ? Infinity : Number(b) };
}

export interface ParsedWithConfig {
  /** As parsed, less any PLACE argument. */
  parsed: ParsedElement;
  cls: ElementClass<unknown>;
  config: unknown;
  place?: PlacePin;
}

/**
 * Take `PLACE backend` out of an element's arguments (unless its class declares a PLACE keyword
 * of its own): the pin, checked (one backend, declared; given once), and the remaining arguments.
 */
export function takePlace(p: ParsedElement, cls: ElementClass<unknown>): { parsed: ParsedElement; place?: PlacePin } {
  if (cls.args?.keywords?.includes(PLACE_KEYWORD) === true) return { parsed: p };
  let place: { value: string; loc: SourceLocation } | undefined;
  const list: typeof p.args.list = [];
  const all = p.args.list;
  for (let i = 0; i < all.length; i++) {
    const a = all[i];
    const keyword = a.keyword ?? splitKeyword(a.raw, [PLACE_KEYWORD]).keyword;
    if (keyword !== PLACE_KEYWORD) {
      list.push(a);
      continue;
    }
    let value = (a.keyword !== undefined ? a.value : splitKeyword(a.raw, [PLACE_KEYWORD]).value).trim();
    if (place !== undefined) throw new ConfigError(a.loc, `keyword ${PLACE_KEYWORD} given twice`);
    // `PLACE webgpu:0.7,cpu` unquoted: the configuration's comma made `cpu` the next argument.
    const next = all[i + 1];
    if (value.includes(':') && !value.includes(',') && next !== undefined && next.keyword === undefined && SPLIT_PART.test(next.raw.trim())) {
      value = `${value},${next.raw.trim()}`;
      i++;
    }
    place = { value, loc: a.loc };
  }
  if (place === undefined) return { parsed: p };
  return { parsed: { ...p, args: { ...p.args, list } }, place: parsePlace(place.value, place.loc) };
}

/** The second part of an unquoted split: `cpu`, `gpujs/cpu`, `cpu:0.3`. */
const SPLIT_PART = /^[a-z][a-z0-9]*(\/[A-Za-z0-9_.-]+)?(:[0-9.]+)?$/;

function parsePlace(value: string, loc: SourceLocation): PlacePin {
  if (value === '') throw new ConfigError(loc, `bad ${PLACE_KEYWORD}: expected a backend name`);
  if (!/[:,]/.test(value)) return { ...parseBackendLabel(value, loc), loc };
  // A split: `a:W,b` or `a:W,b:W2`; an omitted weight is the rest, given weights sum to 1.
  const items = value.split(',').map((x) => x.trim());
  const bad = (why: string): ConfigError => new ConfigError(loc, `bad ${PLACE_KEYWORD} ${quoteUserText(value)}: ${why}`);
  if (items.length !== 2) throw bad('a split names two backends (e.g. webgpu:0.7,cpu)');
  const parts = items.map((item) => {
    const colon = item.indexOf(':');
    const label = parseBackendLabel(colon < 0 ? item : item.slice(0, colon), loc);
    if (colon < 0) return { ...label, weight: undefined };
    const w = Number(item.slice(colon + 1));
    if (item.slice(colon + 1).trim() === '' || !Number.isFinite(w) || w <= 0 || w >= 1) throw bad(`the share of ${label.backend} must be a number between 0 and 1 (exclusive)`);
    return { ...label, weight: w };
  });
  const given = parts.filter((p) => p.weight !== undefined);
  if (given.length === 0) throw bad('give the first backend its share (e.g. webgpu:0.7,cpu)');
  const sum = given.reduce((s, p) => s + (p.weight ?? 0), 0);
  if (given.length === 2 && Math.abs(sum - 1) > 1e-9) throw bad(`the shares sum to ${sum}, not 1`);
  const split: PlaceShare[] = parts.map((p) => ({ backend: p.backend, ...(p.variant === undefined ? {} : { variant: p.variant }), weight: p.weight ?? 1 - sum }));
  if (split[0].backend === split[1].backend && split[0].variant === split[1].variant) throw bad('both parts name the same backend');
  return { backend: split[0].backend, ...(split[0].variant === undefined ? {} : { variant: split[0].variant }), loc, split };
}

function parseBackendLabel(value: string, loc: SourceLocation): { backend: string; variant?: string } {
  const slash = value.indexOf('/');
  const backend = slash < 0 ? value : value.slice(0, slash);
  const variant = slash < 0 ? undefined : value.slice(slash + 1);
  const r = backendNameSchema.safeParse(backend);
  if (!r.success) throw new ConfigError(loc, `bad ${PLACE_KEYWORD}: ${r.error.issues[0].message}`);
  if (variant === '') throw new ConfigError(loc, `bad ${PLACE_KEYWORD}: expected a variant after '${backend}/'`);
  return { backend, ...(variant === undefined ? {} : { variant }) };
}

/** Validate classes and arguments only (what `hetbox check` and `buildGraph` share). */
export function resolveElements(cfg: ParsedConfig, classes: ElementClassLookup): ParsedWithConfig[] {
  return cfg.elements.map((p) => {
    const cls = classes.find(p.className);
    if (cls === undefined) {
      const near = suggest(p.className, classes.names());
      throw new ConfigError(p.args.loc, `unknown element class ${quoteUserText(p.className)}${near ? ` (did you mean ${near}?)` : ''}`);
    }
    const { parsed, place } = takePlace(p, cls);
    return { parsed, cls, config: cls.parseConfig(parsed.args), ...(place === undefined ? {} : { place }) };
  });
}

export function buildGraph(cfg: ParsedConfig, classes: ElementClassLookup, env: RuntimeEnv): Graph {
  const resolved = resolveElements(cfg, classes);
  const index = new Map(resolved.map((r, i) => [r.parsed.name, i]));
  const outs: Map<number, ParsedConnection>[] = resolved.map(() => new Map());
  const ins: Map<number, ParsedConnection[]>[] = resolved.map(() => new Map());
  for (const c of cfg.connections) {
    const from = index.get(c.from)!;
    const to = index.get(c.to)!;
    const prev = outs[from].get(c.fromPort);
    if (prev !== undefined) {
      throw new ConfigError(c.loc, `output ${c.fromPort} of ${quoteUserText(c.from)} is already connected (at line ${prev.loc.line}); use Tee to copy packets to several elements`);
    }
    outs[from].set(c.fromPort, c);
    const list = ins[to].get(c.toPort) ?? [];
    list.push(c);
    ins[to].set(c.toPort, list);
  }
  const counts = resolved.map((r, i) => {
    const pin = parsePortSpec(r.cls.ports.inputs);
    const pout = parsePortSpec(r.cls.ports.outputs);
    const fixedOutputs = r.cls.outputsFor?.(r.config);
    const ninputs = checkPorts('input', r, pin, ins[i], cfg, undefined);
    const noutputs = checkPorts('output', r, pout, outs[i], cfg, fixedOutputs);
    return { ninputs, noutputs };
  });
  // Elements built so far: a build that fails later (a bad element, PLACE, a cycle) cleans them up,
  // since some hold resources from construction on (FromDump starts its reader thread there).
  const built: Element[] = [];
  try {
    return assemble();
  } catch (e) {
    for (const el of built) void Promise.resolve().then(() => el.cleanup()).catch(() => undefined);
    throw e;
  }

  function assemble(): Graph {
    const nodes: GraphNode[] = resolved.map((r, i) => {
      const element = locateSystemErrors(r, () => new r.cls({ name: r.parsed.name, config: r.config, env, ninputs: counts[i].ninputs, noutputs: counts[i].noutputs }));
      built.push(element);
      const outputs: { node: number; port: number }[] = [];
      for (let p = 0; p < counts[i].noutputs; p++) {
        const c = outs[i].get(p)!;
        outputs.push({ node: index.get(c.to)!, port: c.toPort });
      }
      let inEdges = 0;
      for (const l of ins[i].values()) inEdges += l.length;
      const split = r.place?.split;
      if (split !== undefined) {
        if (!canSplit(element)) throw new ConfigError(r.place!.loc, `${quoteUserText(r.parsed.name)} (${r.cls.className}) cannot split its batches between backends (run carries out splits for IPLookup)`);
        element.placeSplit(split, r.place!.loc);
      }
      return { index: i, parsed: r.parsed, cls: r.cls, element, outputs, inEdges, ...(r.place === undefined ? {} : { place: r.place }) };
    });
    const order = topologicalOrder(nodes, cfg);
    return { nodes, order, byName: new Map(nodes.map((n) => [n.parsed.name, n])) };
  }
}

function checkPorts(
  dir: 'input' | 'output',
  r: ParsedWithConfig,
  range: PortRange,
  used: Map<number, unknown>,
  cfg: ParsedConfig,
  fixed: number | undefined,
): number {
  const name = r.parsed.name;
  const what = `${quoteUserText(name)} (${r.cls.className})`;
  const highest = used.size === 0 ? -1 : Math.max(...used.keys());
  const max = fixed ?? range.max;
  const min = fixed ?? range.min;
  for (const port of used.keys()) {
    if (port >= max) {
      const conn = findConnection(cfg, name, dir, port);
      const has = max === 0 ? `no ${dir}s` : `${dir}s 0..${max - 1}`;
      throw new ConfigError(conn?.loc ?? r.parsed.loc, `${dir} port ${port} out of range: ${what} has ${has}`);
    }
  }
  const n = Math.max(highest + 1, min);
  for (let p = 0; p < n; p++) {
    if (!used.has(p)) {
      throw new ConfigError(r.parsed.loc, `${dir} ${p} of ${what} is not connected`);
    }
  }
  return n;
}

function findConnection(cfg: ParsedConfig, name: string, dir: 'input' | 'output', port: number): ParsedConnection | undefined {
  return cfg.connections.find((c) => (dir === 'output' ? c.from === name && c.fromPort === port : c.to === name && c.toPort === port));
}

/** Kahn's algorithm; a cycle is an error naming one of its connections. */
function topologicalOrder(nodes: GraphNode[], cfg: ParsedConfig): number[] {
  const indeg = nodes.map((n) => n.inEdges);
  const queue = nodes.filter((n) => n.inEdges === 0).map((n) => n.index);
  const order: number[] = [];
  while (queue.length > 0) {
    const i = queue.shift()!;
    order.push(i);
    for (const o of nodes[i].outputs) if (--indeg[o.node] === 0) queue.push(o.node);
  }
  if (order.length < nodes.length) {
    const stuck = nodes.find((n) => indeg[n.index] > 0)!;
    const conn = cfg.connections.find((c) => c.to === stuck.parsed.name);
    throw new ConfigError(conn?.loc ?? stuck.parsed.loc, `cycle through ${quoteUserText(stuck.parsed.name)}: hetbox runs push batches through an acyclic graph; break the loop with a Queue and a second source, or remove the connection`);
  }
  return order;
}

/**
 * An element that cannot use an input its configuration names (ElementInputError: a route file
 * missing, too large or with routes to outputs it lacks) or meets an I/O error while it is built
 * is reported at its declaration, named; other exceptions are bugs and pass.
 */
function locateSystemErrors<T>(r: ParsedWithConfig, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ElementInputError) throw new ConfigError(r.parsed.loc, `${quoteUserText(r.parsed.name)} (${r.cls.className}): ${e.detail}`);
    if (e instanceof Error && !(e instanceof ConfigError) && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).syscall !== undefined) {
      throw new ConfigError(r.parsed.loc, `${quoteUserText(r.parsed.name)} (${r.cls.className}): ${e.message}`);
    }
    throw e;
  }
}

/** The closest known class name (edit distance ≤ 3), for "did you mean". */
function suggest(name: string, names: string[]): string | undefined {
  // A name much longer than any class is no typo of one (and would cost length x length).
  if (name.length > 64) return undefined;
  let best: string | undefined;
  let bestD = 4;
  for (const n of names) {
    const d = editDistance(name.toLowerCase(), n.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
