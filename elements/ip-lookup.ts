/**
 * IPLookup(ROUTE..., keywords FIB, FIBS, NOROUTE, FORMAT, BACKEND, IN_FLIGHT)
 * Aliases: LookupIPRoute, RadixIPLookup, DirectIPLookup, StaticIPLookup
 *
 * Ports: 1 input, 1 or more outputs.
 *
 * Longest-prefix match of each packet's destination in one of several FIBs (VRFs) sharing
 * one multi-FIB image (core/structures/multi-fib). The destination is the `dst` annotation
 * (set by CheckIPHeader); without it, the IPv4 destination is read from the packet bytes at
 * offset + 16 (the IP header must start the packet, e.g. after Strip(14)). The FIB is the
 * `vrf` annotation (absent: FIB 0; a FIB index that does not exist matches nothing).
 *
 * Each packet gets the `nextHop` annotation (the next-hop index, -1 for no route). As in
 * Click, a route with a gateway sets the `dst` annotation to the gateway. With one output the
 * element only annotates: every packet leaves on output 0. With more outputs each packet
 * leaves on its route's OUT port (a route without OUT uses 0); a packet with no route is
 * dropped and counted (Click's RadixIPLookup; the first five are logged with their packet
 * index), or sent to the last output with NOROUTE last. Every route's OUT must be one of the
 * outputs: inline routes, handler writes and route files alike (a file error names its line);
 * a packet whose next hop still names no output is dropped and counted (`drops_no_output`).
 *
 * Arguments:
 *   ROUTE     Click route syntax `ADDR/LEN [GW] OUT` (also `ADDR/MASK`; "18.26/16" abbreviates
 *             18.26.0.0/16; host bits are masked). Routes go to FIB 0.
 *   FIB       route file for FIB 0 (text `prefix [nexthop [label]]`, DPDK l3fwd `R` lines,
 *             or bgpdump -m; format detected), relative to the configuration's directory.
 *   FIBS      named FIBs from files: `name=file` items separated by spaces or commas; FIB i
 *             is the i-th item. Cannot be combined with FIB.
 *   NOROUTE   `drop` (default) or `last`: where packets with no route go.
 *   FORMAT    format of the FIB/FIBS files: `auto` (default: detected), `text`, `click`
 *             (`ADDR/LEN [GW] OUT` per line), `l3fwd` or `bgpdump`. A text line's third field is a
 *             label, so a file of Click routes with gateways needs FORMAT click.
 *   BACKEND   where the lookup kernel runs: `cpu` (default, inline), `webgpu`, `gpujs`, `fpga`
 *             or `null`; `hetbox run --backend B` sets it for every IPLookup without one. The
 *             image stays resident on the backend and route changes reach it as deltas. If the
 *             backend is unavailable or fails, the element falls back to cpu visibly (a warning,
 *             the `backend_fallback` handler, the run summary); under CI (strict backends) an
 *             unavailable backend is an error.
 *   IN_FLIGHT batches in flight on the backend at once (default 3): upload of one overlaps the
 *             lookup of another.
 *
 * A split placement, `PLACE a:W,b` (e.g. `PLACE webgpu:0.7,cpu`), shares the lookup's batches
 * between two backends, W of them to the first, by a credit counter (reproducible, interleaved);
 * outputs leave in batch order whichever part finishes first. Not with BACKEND. A lookup moves
 * to, from and between splits live (`migrate`).
 *
 * Handlers:
 *   table (read)          routes in Click's format (`ADDR/LEN  GW  OUT`), FIB 0 only unless
 *                         there are several FIBs, then each under a `# FIB name` line
 *   lookup (read, ADDR)   `OUT GW` as Click prints it (`OUT` without a gateway, -1 for no
 *                         route); `FIBNAME ADDR` looks up in another FIB
 *   add (write)           add routes (`ADDR/LEN [GW] OUT`, several separated by commas or
 *                         newlines, all or none); a route with an existing prefix is a
 *                         conflict. Prefix a route with `@FIBNAME ` for another FIB.
 *   set (write)           add or replace routes, atomically
 *   remove (write)        remove routes (`ADDR/LEN [GW] [OUT]`; GW and OUT must match if given)
 *   fibs (read)           one line per FIB: index, name, route count
 *   memory (read)         image bytes, nodes, records, sharing ratio
 *   drops (read)          packets dropped, every reason; drops_no_route and drops_no_output
 *                         (a next hop naming a missing output) by reason
 *   backend, backend_requested, backend_device, backend_fallback (read)   where the kernel runs
 *   kernel_stats (read)   runs per (kernel, backend, variant): batches, items, host time, device figures;
 *                         inline cpu runs are timed on 1 batch in 16 (every batch during a
 *                         migration), the others' host time estimated at the timed mean per item
 *   migrate (write)       move the lookup to a backend (`cpu`, `webgpu`, `gpujs`, `fpga`, `null`)
 *                         or a split (`webgpu:0.7,cpu`; a part already serving keeps its image,
 *                         a change of shares alone moves no state)
 *                         while traffic flows: the image is copied and verified first, route
 *                         changes reach both sides, the switch falls between two batches. The
 *                         reply comes once switched, or says why it rolled back; one at a time.
 *   split (read)          split: per part its share, batches and packets run there (since start)
 *   location (read)       where the lookup runs now (`cpu (inline)` without a runner, `split a:W,b:W2`)
 *   migrations (read)     one line per migration: from, to, result, bytes copied, pre-copy,
 *                         pause and total ms, batches drained, batch latency p50/p99 before
 *                         -> during (or the rollback's reason)
 */
import path from 'node:path';
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput } from '../core/element.js';
import { StateError, statePart, type ElementDeclaration, type ElementState } from '../core/element-state.js';
import { nextHopKey, type NextHop } from '../core/structures/multi-fib/next-hops.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import { HandlerError, type HandlerTable } from '../core/handlers.js';
import { ElementInputError } from '../core/element-input-error.js';
import { readBE32 } from '../core/net/ipv4.js';
import { formatIPv4, formatPrefix, parseAddress } from '../core/routes/ipv4.js';
import { quoteUserText } from '../core/quote-user-text.js';
import { formatClickRoute, parseClickRoute, splitRoutes, type ClickRoute } from '../core/routes/click-route.js';
import { firstRouteWith, loadRouteFile, RouteFormat, type LoadedRoutes } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import { MultiFib, RouteConflictError, type RouteChange } from '../core/structures/multi-fib/multi-fib.js';
import { MULTI_FIB_V4, lookupImage } from '../core/structures/multi-fib/image-format.js';
import { counterHandler } from './lib/handler-helpers.js';
import { backendNameSchema } from '../core/backend-registry.js';
import type { BackendName } from '../core/backend.js';
import { openElementOffload, OffloadRunner } from '../core/offload/offload-runner.js';
import { IP_LOOKUP, ipLookupCpu, type IpLookupIo } from '../core/kernels/ip-lookup/index.js';
import { SampledKernelTiming } from '../core/element-helpers/sampled-kernel-timing.js';
import { KernelStats, type KernelStatsEntry } from '../core/kernel-stats.js';
import { Migrator, MigrationRefused } from '../core/migration/migrator.js';
import type { Migratable } from '../core/migration/migrate-element.js';
import { BatchLatencies } from '../core/migration/batch-latencies.js';
import { SplitDispatch } from '../core/offload/split-dispatch.js';
import { partLabel, type PlacedPart } from '../core/migration/placement.js';
import type { PlaceShare, SplitPlaceable } from '../core/graph.js';
import { ConfigError, type SourceLocation } from '../core/config/source-location.js';

/** The batch lookup seam: the CPU form by default; an offloaded element swaps in a backend's. */

export interface IPLookupConfig {
  ROUTES: ClickRoute[];
  FIB?: string;
  FIBS?: { name: string; file: string }[];
  NOROUTE: 'drop' | 'last';
  BACKEND?: BackendName;
  IN_FLIGHT: number;
  FORMAT: RouteFormat | 'auto';
}

const routeSchema = z.string().transform((s, ctx) => {
  const r = parseClickRoute(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

const fibsSchema = z.string().transform((s, ctx) => {
  const out: { name: string; file: string }[] = [];
  for (const item of s.split(/[\s,]+/).filter((w) => w !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      ctx.addIssue({ code: 'custom', message: `expected name=file, got ${quoteUserText(item)}` });
      return z.NEVER;
    }
    out.push({ name: item.slice(0, eq), file: item.slice(eq + 1) });
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'no FIBs given' });
    return z.NEVER;
  }
  return out;
});

const configSchema = z
  .object({
    ROUTES: z.array(routeSchema),
    FIB: z.string().min(1).optional(),
    FIBS: fibsSchema.optional(),
    NOROUTE: z.enum(['drop', 'last']).default('drop'),
    BACKEND: backendNameSchema.optional(),
    IN_FLIGHT: arg.int(1, 64).default(3),
    FORMAT: z.union([RouteFormat, z.literal('auto')]).default('auto'),
  })
  .refine((c) => c.FIB === undefined || c.FIBS === undefined, { message: 'give FIB or FIBS, not both' });

/** Next-hop gateways and ports by index at one version of the next-hop table. */
interface HopTable {
  version: number;
  gateways: Int32Array;
  ports: Int32Array;
}

/** IPLookup's exported FIBs: next hops by index, and each FIB's routes (next hops as indices). */
interface IPLookupRoutes {
  /** By index; null for a free slot (indices are reused once no route holds them). */
  nextHops: (NextHop | null)[];
  fibs: { index: number; name: string; routes: { prefix: number; len: number; nextHop: number }[] }[];
}

/** One part of a split placement: where its batches run (null: the inline CPU form). */
interface SplitRun {
  label: string;
  backend: BackendName;
  variant?: string;
  weight: number;
  runner: OffloadRunner | null;
}

export class IPLookup extends Element<IPLookupConfig> implements Migratable, SplitPlaceable {
  static readonly className = 'IPLookup';
  static readonly aliases = ['LookupIPRoute', 'RadixIPLookup', 'DirectIPLookup', 'StaticIPLookup'] as const;
  static readonly ports = { inputs: '1', outputs: '1-' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [IP_LOOKUP],
    state: [
      { kind: 'structure', name: 'fib', structure: MULTI_FIB_V4, doc: 'the FIBs: route sets, next hops and their multi-FIB image' },
      { kind: 'counters', name: 'counters', counters: ['drops_no_route', 'drops_no_output'], doc: 'packets dropped, by reason' },
    ],
  };
  static readonly manual = `IPLookup(ROUTE..., keywords FIB, FIBS, NOROUTE, FORMAT, BACKEND, IN_FLIGHT)
Aliases: LookupIPRoute, RadixIPLookup, DirectIPLookup, StaticIPLookup

Ports: 1 input, 1 or more outputs.

Longest-prefix match of each packet's destination in one of several FIBs (VRFs) sharing
one multi-FIB image (core/structures/multi-fib). The destination is the \`dst\` annotation
(set by CheckIPHeader); without it, the IPv4 destination is read from the packet bytes at
offset + 16 (the IP header must start the packet, e.g. after Strip(14)). The FIB is the
\`vrf\` annotation (absent: FIB 0; a FIB index that does not exist matches nothing).

Each packet gets the \`nextHop\` annotation (the next-hop index, -1 for no route). As in
Click, a route with a gateway sets the \`dst\` annotation to the gateway. With one output the
element only annotates: every packet leaves on output 0. With more outputs each packet
leaves on its route's OUT port (a route without OUT uses 0); a packet with no route is
dropped and counted (Click's RadixIPLookup; the first five are logged with their packet
index), or sent to the last output with NOROUTE last. Every route's OUT must be one of the
outputs: inline routes, handler writes and route files alike (a file error names its line);
a packet whose next hop still names no output is dropped and counted (\`drops_no_output\`).

Arguments:
  ROUTE     Click route syntax \`ADDR/LEN [GW] OUT\` (also \`ADDR/MASK\`; "18.26/16" abbreviates
            18.26.0.0/16; host bits are masked). Routes go to FIB 0.
  FIB       route file for FIB 0 (text \`prefix [nexthop [label]]\`, DPDK l3fwd \`R\` lines,
            or bgpdump -m; format detected), relative to the configuration's directory.
  FIBS      named FIBs from files: \`name=file\` items separated by spaces or commas; FIB i
            is the i-th item. Cannot be combined with FIB.
  NOROUTE   \`drop\` (default) or \`last\`: where packets with no route go.
  FORMAT    format of the FIB/FIBS files: \`auto\` (default: detected), \`text\`, \`click\`
            (\`ADDR/LEN [GW] OUT\` per line), \`l3fwd\` or \`bgpdump\`. A text line's third field is a
            label, so a file of Click routes with gateways needs FORMAT click.
  BACKEND   where the lookup kernel runs: \`cpu\` (default, inline), \`webgpu\`, \`gpujs\`, \`fpga\`
            or \`null\`; \`hetbox run --backend B\` sets it for every IPLookup without one. The
            image stays resident on the backend and route changes reach it as deltas. If the
            backend is unavailable or fails, the element falls back to cpu visibly (a warning,
            the \`backend_fallback\` handler, the run summary); under CI (strict backends) an
            unavailable backend is an error.
  IN_FLIGHT batches in flight on the backend at once (default 3): upload of one overlaps the
            lookup of another.

A split placement, \`PLACE a:W,b\` (e.g. \`PLACE webgpu:0.7,cpu\`), shares the lookup's batches
between two backends, W of them to the first, by a credit counter (reproducible, interleaved);
outputs leave in batch order whichever part finishes first. Not with BACKEND. A lookup moves
to, from and between splits live (\`migrate\`).

Handlers:
  table (read)          routes in Click's format (\`ADDR/LEN  GW  OUT\`), FIB 0 only unless
                        there are several FIBs, then each under a \`# FIB name\` line
  lookup (read, ADDR)   \`OUT GW\` as Click prints it (\`OUT\` without a gateway, -1 for no
                        route); \`FIBNAME ADDR\` looks up in another FIB
  add (write)           add routes (\`ADDR/LEN [GW] OUT\`, several separated by commas or
                        newlines, all or none); a route with an existing prefix is a
                        conflict. Prefix a route with \`@FIBNAME \` for another FIB.
  set (write)           add or replace routes, atomically
  remove (write)        remove routes (\`ADDR/LEN [GW] [OUT]\`; GW and OUT must match if given)
  fibs (read)           one line per FIB: index, name, route count
  memory (read)         image bytes, nodes, records, sharing ratio
  drops (read)          packets dropped, every reason; drops_no_route and drops_no_output
                        (a next hop naming a missing output) by reason
  backend, backend_requested, backend_device, backend_fallback (read)   where the kernel runs
  kernel_stats (read)   runs per (kernel, backend, variant): batches, items, host time, device figures;
                        inline cpu runs are timed on 1 batch in 16 (every batch during a
                        migration), the others' host time estimated at the timed mean per item
  migrate (write)       move the lookup to a backend (\`cpu\`, \`webgpu\`, \`gpujs\`, \`fpga\`, \`null\`)
                        or a split (\`webgpu:0.7,cpu\`; a part already serving keeps its image,
                        a change of shares alone moves no state)
                        while traffic flows: the image is copied and verified first, route
                        changes reach both sides, the switch falls between two batches. The
                        reply comes once switched, or says why it rolled back; one at a time.
  split (read)          split: per part its share, batches and packets run there (since start)
  location (read)       where the lookup runs now (\`cpu (inline)\` without a runner, \`split a:W,b:W2\`)
  migrations (read)     one line per migration: from, to, result, bytes copied, pre-copy,
                        pause and total ms, batches drained, batch latency p50/p99 before
                        -> during (or the rollback's reason)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<IPLookupConfig> = { rest: 'ROUTES', keywords: ['FIB', 'FIBS', 'NOROUTE', 'BACKEND', 'IN_FLIGHT', 'FORMAT'], schema: configSchema };

  static parseConfig(args: ConfigArgs): IPLookupConfig {
    return parseArgs(args, IPLookup.args);
  }

  private readonly fib: MultiFib;
  private imageView: Int32Array;
  /** Packets dropped for want of a route. */
  private dropped = 0;
  /** Packets whose next hop names an output this element does not have (a route table the checks missed, a bad backend answer): dropped and counted, never lost. */
  private droppedNoOutput = 0;
  private scratchPorts = new Int32Array(0);
  /** The offloaded kernel when the element runs on a backend other than inline cpu. */
  private runner: OffloadRunner | null = null;
  /** Every lookup run's stats, inline or offloaded (the kernel_stats handler). */
  private readonly kernelStats = new KernelStats();
  private inlineStats: KernelStatsEntry | null = null;
  /** Moves the lookup between locations while traffic flows (core/migration). */
  private readonly migration: Migrator;
  /** Each batch's lookup time (process to routed), for the delay a migration adds. */
  private readonly latencies = new BatchLatencies();
  /** A split placement (`PLACE webgpu:0.7,cpu`): the parts asked for, then their runners once initialized. */
  private splitShares: readonly PlaceShare[] | null = null;
  private splitRuns: SplitRun[] = [];
  private splitDispatch: SplitDispatch | null = null;

  constructor(init: ElementInit<IPLookupConfig>) {
    super(init);
    const c = init.config;
    const resolve = (f: string): string => path.resolve(init.env.baseDir, f);
    const files: LoadedRoutes[] = [];
    let names: string[] | undefined;
    const load = (file: string): LoadedRoutes => {
      let l: LoadedRoutes;
      try {
        l = loadRouteFile(resolve(file), { format: c.FORMAT });
      } catch (e) {
        // RouteFileError names the file (and line); the element adds its own name.
        throw new ElementInputError(this.name, (e as Error).message);
      }
      this.checkFilePorts(l);
      return l;
    };
    if (c.FIBS !== undefined) {
      for (const f of c.FIBS) files.push(load(f.file));
      for (const l of files) if (l.fibs.length !== 1) throw new ElementInputError(this.name, `${l.file} holds ${l.fibs.length} FIBs; FIBS takes one per file`);
      names = c.FIBS.map((f) => f.name);
    } else if (c.FIB !== undefined) {
      const l = load(c.FIB);
      if (l.fibs.length !== 1) throw new ElementInputError(this.name, `${l.file} holds ${l.fibs.length} FIBs; use FIBS`);
      files.push(l);
      names = ['default'];
    }
    // The loaded columns become the structure's storage (consume): a full table is not held twice.
    this.fib = files.length > 0 ? multiFibFromLoaded(files, names, { consume: true }) : new MultiFib(['default']);
    for (const r of c.ROUTES) this.checkPort(r, (m) => new ElementInputError(this.name, m));
    // As Click's configure: a route repeating a prefix is a conflict, not a replacement.
    try {
      if (c.ROUTES.length > 0) this.fib.applyChanges(c.ROUTES.map((r) => ({ op: 'add', fib: 0, prefix: r.prefix, len: r.len, nextHop: this.hopOf(r) })));
    } catch (e) {
      if (e instanceof RouteConflictError) throw new ElementInputError(this.name, `conflict with existing route '${this.routeText(e.existing.prefix, e.existing.len, e.existing.nextHop)}'`);
      throw e;
    }
    this.imageView = this.fib.imageI32;
    this.fib.onDelta(() => {
      this.imageView = this.fib.imageI32;
    });
    // Deltas reach whichever runner serves now, in commit order (the runner orders them against
    // batches in flight); a migration's target gets them from the migrator until it takes over.
    this.fib.onDelta((d) => {
      // Every part of a split holds its own copy of the image: each gets every delta.
      for (const part of this.splitRuns) {
        const r = part.runner;
        r?.applyDelta(0, d).catch((e: unknown) => this.env.log.warn(`${this.name}: delta not applied on ${r.status().backend} (split part ${part.label}): ${(e as Error).message}`));
      }
      const runner = this.runner;
      if (runner === null) return;
      runner.applyDelta(0, d).catch((e: unknown) => this.env.log.warn(`${this.name}: delta not applied on ${runner.status().backend}: ${(e as Error).message}`));
    });
    const fib = this.fib;
    this.migration = new Migrator({
      owner: this.name,
      kernel: IP_LOOKUP,
      env: this.env,
      maxInFlight: this.config.IN_FLIGHT,
      stats: this.kernelStats,
      structures: [{ kind: MULTI_FIB_V4, image: () => fib.image, generation: () => fib.generation, onDelta: (fn) => fib.onDelta(fn) }],
      latencies: this.latencies,
      warmUpIo: () => ({ count: 1, inputs: { dst: new Int32Array(1), vrf: new Int32Array(1) }, outputs: { nextHop: new Int32Array(1) } }),
      current: () => this.runner,
      install: (runner) => {
        this.runner = runner;
        // A split ends here: its parts' runners that are not `runner` are the migrator's to release.
        this.splitRuns = [];
        this.splitDispatch = null;
        if (runner !== null) this.concurrency = this.config.IN_FLIGHT;
      },
      split: {
        parts: () => (this.splitDispatch === null ? null : this.splitRuns),
        install: (parts) => this.installSplit(parts),
      },
    });
  }

  /** Live migration of the lookup (handlers migrate, location, migrations; the planner's call). */
  migrator(): Migrator {
    return this.migration;
  }

  /** The logical form (for backends and migration). */
  override structureImage(name: string): Uint32Array | undefined {
    return name === 'fib' ? this.fib.image : undefined;
  }

  get multiFib(): MultiFib {
    return this.fib;
  }

  /** The current image as int32 words. */
  get image(): Int32Array {
    return this.imageView;
  }

  /**
   * The graph builder's call for `PLACE a:W,b`: batches are dispatched to the two parts by a
   * credit counter (core/offload/split-dispatch.ts). BACKEND places the whole element, so both
   * together contradict each other.
   */
  placeSplit(split: readonly PlaceShare[], loc: SourceLocation): void {
    if (this.config.BACKEND !== undefined) throw new ConfigError(loc, `${quoteUserText(this.name)} (IPLookup): a split PLACE contradicts its BACKEND ${this.config.BACKEND}`);
    this.splitShares = split;
  }

  override async initialize(): Promise<void> {
    if (this.splitShares !== null) {
      await this.initializeSplit(this.splitShares);
      return;
    }
    const runner = await openElementOffload(this, IP_LOOKUP, this.config.BACKEND, this.config.IN_FLIGHT, this.kernelStats);
    if (runner === null) return;
    // Structure #0: the delta listener set up in the constructor forwards to it.
    await runner.addStructure(MULTI_FIB_V4, this.fib.image, this.fib.generation);
    this.runner = runner;
    this.concurrency = this.config.IN_FLIGHT;
  }

  private async initializeSplit(shares: readonly PlaceShare[]): Promise<void> {
    for (const s of shares) {
      const label = s.variant === undefined ? s.backend : `${s.backend}/${s.variant}`;
      // The CPU part is the inline form on the element's own image, as for an unsplit cpu lookup.
      let runner: OffloadRunner | null = null;
      if (s.backend !== 'cpu' || s.variant !== undefined) {
        runner = await OffloadRunner.open({ kernel: IP_LOOKUP, backend: s.backend, ...(s.variant === undefined ? {} : { variant: s.variant }), owner: this.name, env: this.env, maxInFlight: this.config.IN_FLIGHT, stats: this.kernelStats });
        await runner.addStructure(MULTI_FIB_V4, this.fib.image, this.fib.generation);
      }
      this.splitRuns.push({ label, backend: s.backend, ...(s.variant === undefined ? {} : { variant: s.variant }), weight: s.weight, runner });
    }
    this.splitDispatch = new SplitDispatch(shares.map((s, i) => ({ label: this.splitRuns[i].label, weight: s.weight })));
    this.concurrency = this.config.IN_FLIGHT;
    this.env.log.info(`${this.name}: split placement ${this.splitDispatch.label()}`);
  }

  /**
   * The migrator's switch to a split (synchronous: it falls between two batches). The credit
   * counter starts over on the new shares; the per-part counts carry on, so `split` and the
   * summary count every batch a part ran since the start.
   */
  private installSplit(parts: readonly PlacedPart[]): void {
    const previous = this.splitDispatch?.counts() ?? [];
    this.splitRuns = parts.map((p) => ({ label: partLabel(p), backend: p.backend, ...(p.variant === undefined ? {} : { variant: p.variant }), weight: p.weight, runner: p.runner }));
    this.splitDispatch = new SplitDispatch(
      this.splitRuns.map((r) => ({ label: r.label, weight: r.weight })),
      previous,
    );
    this.runner = null;
    this.concurrency = this.config.IN_FLIGHT;
  }

  override async cleanup(): Promise<void> {
    // A migration in progress ends first (switched or rolled back), so only the runners serving are left to close.
    await this.migration.idle();
    for (const part of this.splitRuns) await part.runner?.close();
    this.splitRuns = [];
    await this.runner?.close();
    this.runner = null;
  }

  process(batch: PacketBatch): ElementOutput | Promise<ElementOutput> {
    const n = batch.count;
    const fromBytes = this.fillDestinations(batch);
    const dst = batch.anno('dst');
    // The kernel writes every packet's next hop: a reused column need not be zeroed first.
    const nh = batch.annoToOverwrite('nextHop');
    const vrf = batch.hasAnno('vrf') ? batch.anno('vrf') : null;
    const dispatch = this.splitDispatch;
    const runner = dispatch === null ? this.runner : this.splitRuns[dispatch.pick(n)].runner;
    // What next-hop indices mean when the batch starts: a route write while it is on a device may
    // free an index and give it to another next hop, which must not re-route this batch.
    const hops = this.hopTable();
    if (runner === null) {
      // Without a backend: the cpu backend's form function itself, on the element's own image.
      // The columns are read before this call returns, so one io object serves every batch.
      const io = this.inlineIo;
      io.count = n;
      io.inputs.dst = dst;
      io.inputs.vrf = vrf ?? this.fib0(n);
      io.outputs.nextHop = nh;
      const t0 = this.inlineTiming.begin(this.migration.inProgress);
      ipLookupCpu(this.imageView, io);
      const ms = this.inlineTiming.end((this.inlineStats ??= this.kernelStats.entry(IP_LOOKUP, 'cpu')), n, t0);
      if (ms >= 0) this.latencies.record(ms);
      return this.route(batch, fromBytes, hops, dst, vrf, nh);
    }
    const t0 = performance.now();
    const io = { count: n, inputs: { dst, vrf: vrf ?? this.fib0(n) }, outputs: { nextHop: nh } };
    return runner.run(io).then(() => {
      this.latencies.record(performance.now() - t0);
      return this.route(batch, fromBytes, hops, dst, vrf, nh);
    });
  }

  /** The inline path's kernel io, refilled per batch (ipLookupCpu keeps nothing of it). */
  private readonly inlineIo: IpLookupIo = { count: 0, inputs: { dst: new Int32Array(0), vrf: new Int32Array(0) }, outputs: { nextHop: new Int32Array(0) } };
  /** Inline runs are timed on one batch in TIMING_SAMPLE_EVERY (every batch while a migration runs). */
  private readonly inlineTiming = new SampledKernelTiming();

  /** A read-only column of zeros (FIB 0) for batches without a vrf annotation, shared by every run. */
  private fib0(n: number): Int32Array {
    if (this.zeros.length < n) this.zeros = new Int32Array(Math.max(n, 2 * this.zeros.length));
    return this.zeros;
  }

  private zeros = new Int32Array(0);

  /** Put destinations in the dst annotation when no earlier element did; true when read from the bytes. */
  private fillDestinations(batch: PacketBatch): boolean {
    const n = batch.count;
    const fromBytes = !batch.hasAnno('dst');
    const dst = batch.anno('dst');
    if (fromBytes) {
      const data = batch.data;
      for (let i = 0; i < n; i++) dst[i] = batch.length[i] >= 20 ? readBE32(data, batch.offset[i] + 16) : 0;
    }
    return fromBytes;
  }

  /** After the lookup: unknown FIBs and short packets have no route; gateways; output ports. */
  private route(batch: PacketBatch, fromBytes: boolean, hops: HopTable, dst: Int32Array, vrf: Int32Array | null, nh: Int32Array): ElementOutput {
    const n = batch.count;
    if (vrf !== null) for (let i = 0; i < n; i++) if (!this.fib.isLive(vrf[i])) nh[i] = -1;
    // A packet too short to hold a destination has none to route.
    if (fromBytes) for (let i = 0; i < n; i++) if (batch.length[i] < 20) nh[i] = -1;
    const gws = hops.gateways;
    if (this.noutputs <= 1) {
      for (let i = 0; i < n; i++) {
        const h = nh[i];
        if (h >= 0 && gws[h] !== 0) dst[i] = gws[h];
      }
      return [batch];
    }
    // Several outputs: the gateway rewrite happens in the port loop below, one pass over the packets instead of two.
    if (this.scratchPorts.length < n) this.scratchPorts = new Int32Array(Math.max(n, 64));
    const ports = this.scratchPorts;
    const hopPorts = hops.ports;
    const none = this.config.NOROUTE === 'last' ? this.noutputs - 1 : -1;
    const nouts = this.noutputs;
    // Packets per output, counted here so the split need not walk the ports again.
    if (this.portCounts.length < nouts) this.portCounts = new Int32Array(nouts);
    const counts = this.portCounts;
    counts.fill(0, 0, nouts);
    let noRoute = 0;
    let noOutput = 0;
    for (let i = 0; i < n; i++) {
      const h = nh[i];
      if (h < 0) {
        if (none >= 0) counts[none]++;
        ports[i] = none;
        if (none < 0) noRoute++;
        if (none < 0 && ++this.dropped <= 5) {
          // As Click: say so for the first few, naming the packet.
          this.env.log.warn(`${this.name}: no route for ${formatIPv4(dst[i])} (packet ${batch.id[i]})`);
        }
      } else {
        const gw = gws[h];
        if (gw !== 0) dst[i] = gw;
        const port = hopPorts[h] < 0 ? 0 : hopPorts[h];
        if (port >= nouts) {
          // A next hop whose port this router does not have (checks should have refused it): dropped and counted, never lost.
          ports[i] = -1;
          noOutput++;
          if (++this.droppedNoOutput <= 5) this.env.log.warn(`${this.name}: next hop ${h} of ${formatIPv4(dst[i])} (packet ${batch.id[i]}) maps to output ${port}, which does not exist (${nouts} outputs); dropped`);
        } else {
          ports[i] = port;
          counts[port]++;
        }
      }
    }
    this.ledger.drop('no_route', noRoute);
    this.ledger.drop('no_output', noOutput);
    return batch.split(ports, nouts, counts);
  }

  /** Scratch of `route`: packets per output port of the batch being routed. */
  private portCounts = new Int32Array(0);

  override handlers(): HandlerTable {
    return {
      table: { read: () => this.tableText(), doc: 'routes in Click format' },
      lookup: { read: (a) => this.lookupText(a ?? ''), doc: 'ADDR or FIBNAME ADDR -> OUT GW' },
      add: { write: (v) => this.change('add', v), doc: 'add routes ADDR/LEN [GW] OUT (atomic)' },
      set: { write: (v) => this.change('set', v), doc: 'add or replace routes (atomic)' },
      remove: { write: (v) => this.change('remove', v), doc: 'remove routes (atomic)' },
      fibs: { read: () => this.fib.fibNames().map((f) => `${f.index} ${f.name} ${f.routes}\n`).join(''), doc: 'FIB index, name, routes' },
      memory: {
        read: () => {
          const m = this.fib.memory();
          return `bytes ${m.bytes}\nnodes ${m.nodes}\nrecords ${m.records}\nsharing ${m.sharing.toFixed(2)}\n`;
        },
        doc: 'image bytes, nodes, records, sharing ratio',
      },
      drops: counterHandler(() => this.dropped + this.droppedNoOutput, 'packets dropped (every reason)'),
      drops_no_route: counterHandler(() => this.dropped, 'packets with no route dropped'),
      drops_no_output: counterHandler(() => this.droppedNoOutput, 'packets whose route names a missing output, dropped'),
      ...(this.runner?.handlers() ?? { backend: { read: () => (this.splitDispatch === null ? 'cpu (inline)' : `split ${this.migration.location()}`), doc: 'where the lookup runs' } }),
      ...(this.splitDispatch?.handlers() ?? {}),
      kernel_stats: { read: () => this.kernelStats.text(), doc: 'per kernel and backend: batches, items, host ms (inline cpu: timed on 1 batch in 16, the rest estimated), device figures' },
      migrate: { write: (v) => this.migrateHandler(v), doc: 'move the lookup to BACKEND, or a split (webgpu:0.7,cpu), while traffic flows' },
      location: { read: () => this.migration.locationText(), doc: 'where the lookup runs now' },
      migrations: { read: () => this.migration.historyText(), doc: 'one line per migration: result, bytes, times, batches drained' },
    };
  }

  /** Placement may differ between the exporting and the importing element (migration). */
  protected override stateConfigIgnores(): readonly string[] {
    return ['BACKEND', 'IN_FLIGHT'];
  }

  /** The FIBs (route sets and next hops: the logical form; the image as held now) and the drop counter. */
  override exportState(): ElementState {
    const fib = this.fib;
    const logical: IPLookupRoutes = {
      nextHops: Array.from({ length: fib.nextHops.size }, (_v, i) => (fib.nextHops.has(i) ? { ...fib.nextHops.get(i) } : null)),
      fibs: fib.fibNames().map((f) => ({ index: f.index, name: f.name, routes: fib.routesOf(f.index).map((r) => ({ ...r })) })),
    };
    return this.stateHeader({
      fib: { kind: 'structure', structure: MULTI_FIB_V4, generation: fib.generation, image: fib.image.slice(), logical },
      counters: { kind: 'counters', values: { drops_no_route: this.dropped, drops_no_output: this.droppedNoOutput } },
    });
  }

  /**
   * Takes over another IPLookup's FIBs in one atomic route change (a delta reaches a resident
   * image like any other). Refused, with nothing changed, when the next-hop tables or FIB
   * numbering do not line up (the configurations differ) or a route's port is not connected here.
   */
  override importState(state: ElementState): void {
    this.checkStateHeader(state);
    const part = statePart(this.name, state, 'fib', 'structure');
    if (part.structure !== MULTI_FIB_V4) throw new StateError(this.name, `structure is ${part.structure}, expected ${MULTI_FIB_V4}`);
    const logical = part.logical as IPLookupRoutes;
    const counters = statePart(this.name, state, 'counters', 'counters').values;
    const fib = this.fib;
    const hops = fib.nextHops;
    // Next-hop indices are what packets carry in nextHop: the exported table must extend this one.
    // A slot free in the state may hold a next hop here (no route will use it after the import);
    // every next hop of the state must land at its own index.
    for (let i = 0; i < hops.size; i++) {
      const h = logical.nextHops[i];
      if (!hops.has(i) || h === null) continue;
      if (h === undefined || nextHopKey(h) !== nextHopKey(hops.get(i))) throw new StateError(this.name, `next hop ${i} differs (${h === undefined ? 'absent' : nextHopKey(h)} vs ${nextHopKey(hops.get(i))})`);
    }
    logical.nextHops.forEach((h, i) => {
      const at = h === null ? undefined : hops.indexOf(h);
      if (h !== null && at !== undefined && at !== i) throw new StateError(this.name, `next hop ${nextHopKey(h)} is at index ${at} here, ${i} in the state`);
    });
    for (const h of logical.nextHops) {
      if (h !== null && h.port !== undefined && this.noutputs > 1 && h.port >= this.noutputs) throw new StateError(this.name, `a route uses output ${h.port}; this element has ${this.noutputs}`);
    }
    const mine = fib.fibNames();
    for (const f of mine) {
      const theirs = logical.fibs.find((x) => x.index === f.index);
      if (theirs === undefined || theirs.name !== f.name) throw new StateError(this.name, `FIB ${f.index} '${f.name}' is ${theirs === undefined ? 'absent' : `'${theirs.name}'`} in the state`);
    }
    logical.nextHops.forEach((h, i) => {
      if (h !== null && !hops.has(i)) hops.internAt(i, h);
    });
    for (const f of logical.fibs) {
      if (mine.some((m) => m.index === f.index)) continue;
      const at = fib.createFib(f.name);
      if (at !== f.index) throw new StateError(this.name, `FIB '${f.name}' lands at index ${at}, not ${f.index}`);
    }
    const changes: RouteChange[] = [];
    for (const f of logical.fibs) {
      const keep = new Set(f.routes.map((r) => `${r.prefix}/${r.len}`));
      for (const r of fib.routesOf(f.index)) if (!keep.has(`${r.prefix}/${r.len}`)) changes.push({ op: 'remove', fib: f.index, prefix: r.prefix, len: r.len });
      for (const r of f.routes) changes.push({ op: 'set', fib: f.index, prefix: r.prefix, len: r.len, nextHop: r.nextHop });
    }
    fib.applyChanges(changes);
    this.dropped = counters.drops_no_route ?? 0;
    this.droppedNoOutput = counters.drops_no_output ?? 0;
  }

  override summary(): Record<string, number | string> {
    return { drops: this.dropped + this.droppedNoOutput, drops_no_route: this.dropped, drops_no_output: this.droppedNoOutput, routes: this.fib.fibNames().reduce((s, f) => s + f.routes, 0), ...(this.runner?.summary() ?? {}), ...this.migration.summary(), ...(this.splitDispatch?.summary() ?? {}), ...this.splitFallbacks() };
  }

  /** A split part that fell back to cpu says so in the summary (never silently). */
  private splitFallbacks(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of this.splitRuns) {
      const why = p.runner?.status().fallbackReason;
      if (why !== undefined && why !== null) out[`split_${p.label}_fallback`] = why;
    }
    return out;
  }

  private async migrateHandler(value: string): Promise<void> {
    const to = value.trim();
    let rec;
    try {
      rec = await this.migration.migrate(to);
    } catch (e) {
      if (e instanceof MigrationRefused) throw new HandlerError(e.message);
      throw e;
    }
    if (rec.status !== 'done') throw new HandlerError(`migration ${rec.from} -> ${rec.to} rolled back: ${rec.reason ?? ''}`);
  }

  /**
   * Gateways and output ports by next-hop index, as of now; a new pair of arrays whenever the
   * next-hop table changes (indices are reused once freed, next-hops.ts), so a batch keeps the
   * meaning its lookup had.
   */
  private hopTable(): HopTable {
    const hops = this.fib.nextHops;
    const t = this.hops;
    if (t !== null && t.gateways.length === hops.size && t.version === hops.version) return t;
    const gateways = new Int32Array(hops.size);
    for (let i = 0; i < hops.size; i++) gateways[i] = hops.has(i) ? (hops.get(i).gateway ?? 0) : 0;
    this.hops = { version: hops.version, gateways, ports: hops.ports.slice() };
    return this.hops;
  }

  private hops: HopTable | null = null;

  private hopOf(r: ClickRoute): number {
    return this.fib.nextHops.intern(r.gateway === undefined ? { port: r.port } : { gateway: r.gateway, port: r.port });
  }

  /** As for inline routes: with several outputs, every route file port must name one of them. */
  private checkFilePorts(l: LoadedRoutes): void {
    if (this.noutputs <= 1) return;
    const bad = firstRouteWith(l, (h) => (l.nextHops[h].port ?? -1) >= this.noutputs);
    if (bad === null) return;
    const port = l.nextHops[bad.hop].port;
    throw new ElementInputError(
      this.name,
      `${l.file}:${bad.line}: output ${port} out of range (${this.noutputs} outputs)` +
        (l.format === 'text' ? `; a text route file's second column is read as an output port when it is an integer` : ''),
    );
  }

  private checkPort(r: ClickRoute, err: (m: string) => Error): void {
    if (r.port !== undefined && (r.port < 0 || (this.noutputs > 1 && r.port >= this.noutputs))) {
      throw err(`route ${formatPrefix(r.prefix, r.len)}: output ${r.port} out of range (${this.noutputs} outputs)`);
    }
  }

  private routeText(prefix: number, len: number, nh: number): string {
    const h = this.fib.nextHops.get(nh);
    return formatClickRoute(prefix, len, h.gateway, h.port);
  }

  private parseFibPrefix(text: string): { fib: number; rest: string } {
    const t = text.trim();
    if (!t.startsWith('@')) return { fib: 0, rest: t };
    const sp = t.search(/\s/);
    const name = sp < 0 ? t.slice(1) : t.slice(1, sp);
    const fib = this.fib.fibIndex(name);
    if (fib < 0) throw new HandlerError(`no FIB named '${name}'`);
    return { fib, rest: sp < 0 ? '' : t.slice(sp + 1) };
  }

  private change(op: 'add' | 'set' | 'remove', value: string): void {
    try {
      this.tryChange(op, value);
    } finally {
      // Next hops interned for a refused write are dropped once its error has been worded.
      this.fib.reclaimNextHops();
    }
  }

  private tryChange(op: 'add' | 'set' | 'remove', value: string): void {
    const changes: RouteChange[] = [];
    for (const item of splitRoutes(value)) {
      const { fib, rest } = this.parseFibPrefix(item);
      const r = parseClickRoute(rest, op === 'remove');
      if (typeof r === 'string') throw new HandlerError(`${op}: ${r}`);
      this.checkPort(r, (m) => new HandlerError(`${op}: ${m}`));
      if (op === 'remove') {
        const old = this.fib.getRoute(fib, r.prefix, r.len);
        const h = old >= 0 ? this.fib.nextHops.get(old) : undefined;
        const matches = h !== undefined && (r.port === undefined || r.port === (h.port ?? -1)) && (r.gateway === undefined || r.gateway === h.gateway);
        if (!matches) throw new HandlerError(`route ${quoteUserText(item.trim())} not found`);
        changes.push({ op, fib, prefix: r.prefix, len: r.len });
      } else changes.push({ op, fib, prefix: r.prefix, len: r.len, nextHop: this.hopOf(r) });
    }
    try {
      this.fib.applyChanges(changes);
    } catch (e) {
      if (e instanceof RouteConflictError) {
        const x = e.existing;
        throw new HandlerError(`conflict with existing route '${this.routeText(x.prefix, x.len, x.nextHop)}'`);
      }
      if (e instanceof Error) throw new HandlerError(e.message);
      throw e;
    }
  }

  private tableText(): string {
    const fibs = this.fib.fibNames();
    let out = '';
    for (const f of fibs) {
      if (fibs.length > 1) out += `# FIB ${f.name}\n`;
      for (const r of this.fib.routesOf(f.index)) {
        const h = this.fib.nextHops.get(r.nextHop);
        // Click's IPRoute::unparse with tabs: pad the prefix to two tab stops, the gateway to one.
        const p = formatPrefix(r.prefix, r.len);
        const g = h.gateway === undefined ? '-' : formatIPv4(h.gateway);
        const port = h.port !== undefined ? String(h.port) : (h.label ?? '-');
        out += `${p}\t${p.length < 16 ? '\t' : ''}${g}\t${g.length < 8 ? '\t' : ''}${port}\n`;
      }
    }
    return out;
  }

  private lookupText(argText: string): string {
    const words = argText.trim().split(/\s+/).filter((w) => w !== '');
    let fib = 0;
    if (words.length === 2) {
      fib = this.fib.fibIndex(words[0]);
      if (fib < 0) throw new HandlerError(`lookup: no FIB named '${words[0]}'`);
    } else if (words.length !== 1) throw new HandlerError(`lookup: expected ADDR or FIBNAME ADDR, got ${quoteUserText(argText)}`);
    const a = parseAddress(words[words.length - 1]);
    if (a === null) throw new HandlerError(`lookup: bad IPv4 address '${words[words.length - 1]}'`);
    const nh = lookupImage(this.imageView, fib, a);
    if (nh < 0) return '-1';
    const h = this.fib.nextHops.get(nh);
    if (h.port === undefined && h.label !== undefined) return `${h.label}${h.gateway !== undefined ? ` ${formatIPv4(h.gateway)}` : ''}`;
    return `${h.port ?? -1}${h.gateway !== undefined ? ` ${formatIPv4(h.gateway)}` : ''}`;
  }
}
