/**
 * FlowIPManager([CAPACITY n, BIDIRECTIONAL b, POLICY p, TIMEOUT_TCP s, TIMEOUT_TCP_HANDSHAKE s,
 *                TIMEOUT_TCP_CLOSED s, TIMEOUT_UDP s, TIMEOUT_OTHER s, SEED n, BACKEND b, IN_FLIGHT n])
 *
 * Ports: 1 input, 1 or 2 outputs.
 *
 * Classifies each packet once into a flow (FastClick's flow manager): its 5-tuple (IPv4 or
 * IPv6; TCP, UDP, SCTP ports; ICMP type pairs as Community-ID maps them; other protocols by
 * address pair) is looked up in a flow table and inserted when new; the entry index becomes
 * the `flow` annotation and the direction the `flowdir` annotation (0 the flow's originator,
 * 1 its reply; always 0 unless BIDIRECTIONAL). Downstream elements (IPRewriter,
 * FlowIPLoadBalancer) read and write their flow-local fields by that id, without classifying
 * again. Non-IP packets, and packets passed untracked when the table is full, get flow -1.
 * Packets dropped by POLICY drop leave on output 1 when it is connected, else are dropped and
 * counted (`drops`).
 * Non-first fragments carry no ports: put IPReassembler in front to classify them with theirs.
 *
 * The table's expiry runs on packet timestamps (a capture replays identically): a flow idle
 * longer than its timeout ends. Its memory is fixed when the configuration starts.
 *
 * Offloaded classification: with BACKEND, the lookup of each batch's keys runs as kernel
 * flow-lookup on that backend, over an image of the table resident there. The host stays the
 * table's single writer: it checks each entry the device found (the key must be there now),
 * looks up itself what the device missed or found stale, inserts new flows, keeps times and TCP
 * state, and publishes the writes (its own and the flow elements' fields) to the device image
 * as one delta per batch. Results, counters and annotations are those of the inline lookup.
 *
 * Keywords:
 *   CAPACITY               most live flows (default 65536): the memory cap
 *   BIDIRECTIONAL          both directions of a connection are one flow (default true)
 *   POLICY                 when full: evict (default; least recently seen of the key's buckets),
 *                          drop (the packet), pass (untracked, flow -1)
 *   TIMEOUT_TCP            established TCP idle timeout in seconds (default 300)
 *   TIMEOUT_TCP_HANDSHAKE  TCP with an unfinished handshake (default 5)
 *   TIMEOUT_TCP_CLOSED     TCP after FINs both ways or a RST (default 10)
 *   TIMEOUT_UDP            UDP (default 60)
 *   TIMEOUT_OTHER          every other protocol (default 30)
 *   SEED                   flow hash seed (default 24301)
 *   BACKEND                where the flow lookup runs: cpu (default, inline), webgpu, null, or
 *                          any backend with a flow-lookup form; falls back to cpu visibly
 *   IN_FLIGHT              batches whose lookups run on the backend at once (default 3)
 *
 * Handlers:
 *   size, capacity, bytes (read)   live flows, the cap, the table's memory in bytes
 *   inserts, lookups, hits (read)  flows created, packets classified, packets of known flows
 *   evictions, expirations (read)  flows ended to make room, flows ended idle
 *   drops, passed (read)           packets dropped / passed untracked because the table was full
 *   untracked (read)               packets without an IP header (flow -1)
 *   fields (read)                  the flow-local fields declared by elements, with offsets
 *   backend, backend_requested, backend_device, backend_fallback (read)   where the lookup runs
 *   kernel_stats (read)            lookup runs per (kernel, backend): batches, items, times
 *                                  (inline cpu runs are timed on 1 batch in 16, every batch
 *                                  during a migration; the others' host time estimated at the
 *                                  timed mean per item)
 *   device_hits (read)             packets whose entry the backend's lookup found (the rest were
 *                                  new flows, or entries the host had changed since)
 *   migrate (write)                move the lookup to a backend while traffic flows (as IPLookup's:
 *                                  the table image is copied, deltas reach both sides, verified,
 *                                  switched between two batches); the reply comes once switched
 *   location (read)                where the lookup runs now (`cpu (inline)` without a runner)
 *   migrations (read)              one line per migration: result, bytes, times, batches drained
 */
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput } from '../core/element.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { KEY_WORDS, canonicalizeKey, ipHeaderOffset, newPacketInfo, parseIpPacket } from '../core/flows/flow-key.js';
import { flowSpaceOf } from '../core/flows/flow-space.js';
import { FLOW_KEY_COLUMNS, FLOW_LOOKUP, type FlowKeyColumn, type FlowLookupIo } from '../core/kernels/flow-lookup/index.js';
import { FLOW_DROPPED, FlowTable, type FullPolicy } from '../core/structures/flow-table/flow-table.js';
import { FLOW_TABLE } from '../core/structures/flow-table/flow-table-image.js';
import type { ImageDelta } from '../core/structures/image.js';
import { HandlerError } from '../core/handlers.js';
import { backendNameSchema } from '../core/backend-registry.js';
import type { BackendName } from '../core/backend.js';
import { openElementOffload, type OffloadRunner } from '../core/offload/offload-runner.js';
import { KernelStats, type KernelStatsEntry } from '../core/kernel-stats.js';
import { Migrator, MigrationRefused } from '../core/migration/migrator.js';
import type { Migratable } from '../core/migration/migrate-element.js';
import { BatchLatencies } from '../core/migration/batch-latencies.js';
import { SampledKernelTiming } from '../core/element-helpers/sampled-kernel-timing.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface FlowIPManagerConfig {
  CAPACITY: number;
  BIDIRECTIONAL: boolean;
  POLICY: FullPolicy;
  TIMEOUT_TCP: number;
  TIMEOUT_TCP_HANDSHAKE: number;
  TIMEOUT_TCP_CLOSED: number;
  TIMEOUT_UDP: number;
  TIMEOUT_OTHER: number;
  SEED: number;
  BACKEND?: BackendName;
  IN_FLIGHT: number;
}

/** One batch's keys, parsed once on the host: what the device looks up and the host classifies. */
interface ParsedBatch {
  /** Key i at keys[i * KEY_WORDS..] (canonical when bidirectional). */
  keys: Uint32Array;
  /** 1 where the packet has an IP header and a key. */
  tracked: Uint8Array;
  reversed: Uint8Array;
  tcpFlags: Uint8Array;
}

const seconds = () => z.coerce.number().positive().max(86400 * 365);

export class FlowIPManager extends Element<FlowIPManagerConfig> implements Migratable {
  static readonly className = 'FlowIPManager';
  static readonly ports = { inputs: '1', outputs: '1-2' };
  /**
   * Kernels it runs and state it owns (planner, migration). The lookup is kernel `flow-lookup`
   * (core/kernels/flow-lookup/: a form per backend over the flow-table image): inline on the
   * CPU by default, offloaded with BACKEND, and migratable between them; the host stays the
   * table's single writer either way.
   */
  static readonly declares: ElementDeclaration = {
    kernels: [FLOW_LOOKUP],
    state: [
      { kind: 'structure', name: 'flows', structure: FLOW_TABLE, doc: 'the flow table: keys, times, TCP state and every element\'s flow-local fields' },
      { kind: 'counters', name: 'counters', counters: ['inserts', 'lookups', 'hits', 'evictions', 'expirations', 'drops', 'passed', 'untracked'], doc: 'classification counters' },
    ],
  };
  static readonly manual = `FlowIPManager([CAPACITY n, BIDIRECTIONAL b, POLICY p, TIMEOUT_TCP s, TIMEOUT_TCP_HANDSHAKE s,
               TIMEOUT_TCP_CLOSED s, TIMEOUT_UDP s, TIMEOUT_OTHER s, SEED n, BACKEND b, IN_FLIGHT n])

Ports: 1 input, 1 or 2 outputs.

Classifies each packet once into a flow (FastClick's flow manager): its 5-tuple (IPv4 or
IPv6; TCP, UDP, SCTP ports; ICMP type pairs as Community-ID maps them; other protocols by
address pair) is looked up in a flow table and inserted when new; the entry index becomes
the \`flow\` annotation and the direction the \`flowdir\` annotation (0 the flow's originator,
1 its reply; always 0 unless BIDIRECTIONAL). Downstream elements (IPRewriter,
FlowIPLoadBalancer) read and write their flow-local fields by that id, without classifying
again. Non-IP packets, and packets passed untracked when the table is full, get flow -1.
Packets dropped by POLICY drop leave on output 1 when it is connected, else are dropped and
counted (\`drops\`).
Non-first fragments carry no ports: put IPReassembler in front to classify them with theirs.

The table's expiry runs on packet timestamps (a capture replays identically): a flow idle
longer than its timeout ends. Its memory is fixed when the configuration starts.

Offloaded classification: with BACKEND, the lookup of each batch's keys runs as kernel
flow-lookup on that backend, over an image of the table resident there. The host stays the
table's single writer: it checks each entry the device found (the key must be there now),
looks up itself what the device missed or found stale, inserts new flows, keeps times and TCP
state, and publishes the writes (its own and the flow elements' fields) to the device image
as one delta per batch. Results, counters and annotations are those of the inline lookup.

Keywords:
  CAPACITY               most live flows (default 65536): the memory cap
  BIDIRECTIONAL          both directions of a connection are one flow (default true)
  POLICY                 when full: evict (default; least recently seen of the key's buckets),
                         drop (the packet), pass (untracked, flow -1)
  TIMEOUT_TCP            established TCP idle timeout in seconds (default 300)
  TIMEOUT_TCP_HANDSHAKE  TCP with an unfinished handshake (default 5)
  TIMEOUT_TCP_CLOSED     TCP after FINs both ways or a RST (default 10)
  TIMEOUT_UDP            UDP (default 60)
  TIMEOUT_OTHER          every other protocol (default 30)
  SEED                   flow hash seed (default 24301)
  BACKEND                where the flow lookup runs: cpu (default, inline), webgpu, null, or
                         any backend with a flow-lookup form; falls back to cpu visibly
  IN_FLIGHT              batches whose lookups run on the backend at once (default 3)

Handlers:
  size, capacity, bytes (read)   live flows, the cap, the table's memory in bytes
  inserts, lookups, hits (read)  flows created, packets classified, packets of known flows
  evictions, expirations (read)  flows ended to make room, flows ended idle
  drops, passed (read)           packets dropped / passed untracked because the table was full
  untracked (read)               packets without an IP header (flow -1)
  fields (read)                  the flow-local fields declared by elements, with offsets
  backend, backend_requested, backend_device, backend_fallback (read)   where the lookup runs
  kernel_stats (read)            lookup runs per (kernel, backend): batches, items, times
                                 (inline cpu runs are timed on 1 batch in 16, every batch
                                 during a migration; the others' host time estimated at the
                                 timed mean per item)
  device_hits (read)             packets whose entry the backend's lookup found (the rest were
                                 new flows, or entries the host had changed since)
  migrate (write)                move the lookup to a backend while traffic flows (as IPLookup's:
                                 the table image is copied, deltas reach both sides, verified,
                                 switched between two batches); the reply comes once switched
  location (read)                where the lookup runs now (\`cpu (inline)\` without a runner)
  migrations (read)              one line per migration: result, bytes, times, batches drained`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<FlowIPManagerConfig> = {
    keywords: ['CAPACITY', 'BIDIRECTIONAL', 'POLICY', 'TIMEOUT_TCP', 'TIMEOUT_TCP_HANDSHAKE', 'TIMEOUT_TCP_CLOSED', 'TIMEOUT_UDP', 'TIMEOUT_OTHER', 'SEED', 'BACKEND', 'IN_FLIGHT'],
    schema: z.object({
      CAPACITY: arg.int(1, 1 << 26).default(65536),
      BIDIRECTIONAL: arg.bool().default(true),
      POLICY: z.enum(['evict', 'drop', 'pass']).default('evict'),
      TIMEOUT_TCP: seconds().default(300),
      TIMEOUT_TCP_HANDSHAKE: seconds().default(5),
      TIMEOUT_TCP_CLOSED: seconds().default(10),
      TIMEOUT_UDP: seconds().default(60),
      TIMEOUT_OTHER: seconds().default(30),
      SEED: arg.int(0, 0xffffffff).default(24301),
      BACKEND: backendNameSchema.optional(),
      IN_FLIGHT: arg.int(1, 64).default(3),
    }),
  };

  static parseConfig(args: ConfigArgs): FlowIPManagerConfig {
    return parseArgs(args, FlowIPManager.args);
  }

  private tableOrNull: FlowTable | null = null;
  private untracked = 0;
  /** Packets whose entry the device's lookup found (checked on the host, used as is). */
  private deviceHits = 0;
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly info = newPacketInfo();
  /** The offloaded lookup when the element runs on a backend other than inline cpu. */
  private runner: OffloadRunner | null = null;
  /** Every lookup run's stats, inline or offloaded (the kernel_stats handler). */
  private readonly kernelStats = new KernelStats();
  private inlineStats: KernelStatsEntry | null = null;
  /** Whoever follows the table's published image besides the runner (a migration's target). */
  private readonly deltaListeners = new Set<(d: ImageDelta) => void>();
  /**
   * Host phases (classification, the writes it makes) run one batch at a time in batch order,
   * whatever order the device lookups finish in and whichever location started them: the
   * table sees the same packets in the same order as inline.
   */
  private hostChain: Promise<unknown> = Promise.resolve();
  private hostPending = 0;
  /** Moves the lookup between locations while traffic flows (core/migration). */
  private readonly migration: Migrator;
  /** Each batch's classification time (process to classified), for the delay a migration adds. */
  private readonly latencies = new BatchLatencies();

  constructor(init: ElementInit<FlowIPManagerConfig>) {
    super(init);
    this.migration = new Migrator({
      owner: this.name,
      kernel: FLOW_LOOKUP,
      env: this.env,
      maxInFlight: this.config.IN_FLIGHT,
      stats: this.kernelStats,
      structures: [
        {
          kind: FLOW_TABLE,
          image: () => this.table.image,
          generation: () => this.table.publishedGeneration,
          onDelta: (fn) => {
            this.deltaListeners.add(fn);
            return () => void this.deltaListeners.delete(fn);
          },
          flush: () => this.publish(true),
        },
      ],
      latencies: this.latencies,
      warmUpIo: () => ({ count: 1, inputs: Object.fromEntries(FLOW_KEY_COLUMNS.map((c) => [c, new Int32Array(1)])), outputs: { entry: new Int32Array(1) } }),
      current: () => this.runner,
      install: (runner) => {
        this.runner = runner;
        if (runner !== null) this.concurrency = this.config.IN_FLIGHT;
      },
    });
  }

  /** Live migration of the lookup (handlers migrate, location, migrations; the planner's call). */
  migrator(): Migrator {
    return this.migration;
  }

  /** The flow table (built in initialize, once every element has declared its fields). */
  get table(): FlowTable {
    return this.tableOrNull ?? this.buildTable();
  }

  private buildTable(): FlowTable {
    if (this.tableOrNull !== null) return this.tableOrNull;
    const c = this.config;
    const space = flowSpaceOf(this.env);
    const t = new FlowTable({
      capacity: c.CAPACITY,
      policy: c.POLICY,
      layout: space.layout,
      seed: c.SEED,
      timeouts: { tcp: c.TIMEOUT_TCP, tcpHandshake: c.TIMEOUT_TCP_HANDSHAKE, tcpClosed: c.TIMEOUT_TCP_CLOSED, udp: c.TIMEOUT_UDP, other: c.TIMEOUT_OTHER },
    });
    this.tableOrNull = t;
    space.registerTable(this.name, t);
    return t;
  }

  override async initialize(): Promise<void> {
    const t = this.buildTable();
    const runner = await openElementOffload(this, FLOW_LOOKUP, this.config.BACKEND, this.config.IN_FLIGHT, this.kernelStats);
    if (runner === null) return;
    // The device starts from the table as published: the writes so far go out first (to nobody yet).
    this.publish(true);
    await runner.addStructure(FLOW_TABLE, t.image, t.publishedGeneration);
    this.runner = runner;
    this.concurrency = this.config.IN_FLIGHT;
  }

  override async cleanup(): Promise<void> {
    // A migration in progress ends first (switched or rolled back), so one runner is left to close.
    await this.migration.idle();
    await this.hostChain;
    await this.runner?.close();
    this.runner = null;
  }

  /**
   * Publish the table's pending writes (this element's and every flow element's fields) as one
   * delta, to the runner serving now and to whoever follows the image (a migration's target);
   * each gets each delta once, in commit order. Nothing to do while nobody holds an image.
   */
  private publish(force = false): void {
    const t = this.table;
    const runner = this.runner;
    if (runner === null && this.deltaListeners.size === 0) return;
    if (!t.hasPendingWrites) return;
    // While the device applies the last delta, the writes wait for the next batch's: a device
    // slower at deltas than the traffic at batches gets fewer, larger ones instead of a backlog
    // that every lookup would queue behind (its answers are hints: a lagging image costs only hits).
    if (!force && runner !== null && this.deltaInFlight) return;
    const d = t.takeDelta();
    if (runner !== null) {
      this.deltaInFlight = true;
      runner.applyDelta(0, d).then(
        () => {
          this.deltaInFlight = false;
        },
        (e: unknown) => {
          this.deltaInFlight = false;
          this.env.log.warn(`${this.name}: delta not applied on ${runner.status().backend}: ${(e as Error).message}`);
        },
      );
    }
    for (const fn of this.deltaListeners) fn(d);
  }

  private deltaInFlight = false;
  /** Inline runs are timed on one batch in TIMING_SAMPLE_EVERY (every batch while a migration runs): two clock reads per batch were a share of a small batch's cost. */
  private readonly inlineTiming = new SampledKernelTiming();

  process(batch: PacketBatch): ElementOutput | Promise<ElementOutput> {
    const runner = this.runner;
    if (runner === null) {
      const t0 = this.inlineTiming.begin(this.migration.inProgress);
      const parsed = this.parse(batch);
      const inline = (): ElementOutput => {
        const out = this.classifyBatch(batch, parsed, null);
        const ms = this.inlineTiming.end((this.inlineStats ??= this.kernelStats.entry(FLOW_LOOKUP, 'cpu')), batch.count, t0);
        if (ms >= 0) this.latencies.record(ms);
        return out;
      };
      // Batches started on a backend before a migration to cpu classify first.
      return this.hostPending === 0 ? inline() : this.afterHost(() => inline());
    }
    const t0 = performance.now();
    const parsed = this.parse(batch);
    const io = this.lookupIo(parsed, batch.count);
    const looked = runner.run(io);
    // A lookup that fails is this batch's error; the chain carries on for the next ones.
    looked.catch(() => undefined);
    return this.afterHost(async () => {
      await looked;
      const out = this.classifyBatch(batch, parsed, io.outputs.entry);
      this.latencies.record(performance.now() - t0);
      return out;
    });
  }

  /**
   * Classify a batch on the host now, without a backend: for tests and benches that drive the
   * element directly (process() answers a promise once a runner serves).
   */
  processInline(batch: PacketBatch): ElementOutput {
    if (this.runner !== null || this.hostPending > 0) throw new Error(`${this.name}: processInline while the lookup runs on ${this.migration.location()}`);
    return this.classifyBatch(batch, this.parse(batch), null);
  }

  /** Run `phase` after every host phase started before it. */
  private afterHost(phase: () => ElementOutput | Promise<ElementOutput>): Promise<ElementOutput> {
    this.hostPending++;
    const done = this.hostChain.then(phase).finally(() => {
      this.hostPending--;
    });
    this.hostChain = done.catch(() => undefined);
    return done;
  }

  /** Each packet's key (canonical when bidirectional), direction and TCP flags; untracked ones marked. */
  private parse(batch: PacketBatch): ParsedBatch {
    const n = batch.count;
    const keys = new Uint32Array(n * KEY_WORDS);
    const tracked = new Uint8Array(n);
    const reversed = new Uint8Array(n);
    const tcpFlags = new Uint8Array(n);
    const data = batch.data;
    const info = this.info;
    const bidi = this.config.BIDIRECTIONAL;
    for (let i = 0; i < n; i++) {
      const start = batch.offset[i];
      const end = start + batch.length[i];
      const ip = ipHeaderOffset(data, start, batch.length[i], batch.linkType);
      const k = i * KEY_WORDS;
      if (ip < 0 || !parseIpPacket(data, ip, end, info, keys, k)) continue;
      tracked[i] = 1;
      reversed[i] = bidi && canonicalizeKey(keys, k) ? 1 : 0;
      tcpFlags[i] = info.tcpFlags;
    }
    return { keys, tracked, reversed, tcpFlags };
  }

  /** The kernel's columns for a batch: word w of every key in column k<w>. */
  private lookupIo(p: ParsedBatch, n: number): FlowLookupIo {
    const inputs = {} as Record<FlowKeyColumn, Int32Array>;
    FLOW_KEY_COLUMNS.forEach((name, w) => {
      const col = new Int32Array(n);
      for (let i = 0, k = w; i < n; i++, k += KEY_WORDS) col[i] = p.keys[k];
      inputs[name] = col;
    });
    return { count: n, inputs, outputs: { entry: new Int32Array(n) } };
  }

  /**
   * The host phase: classify each packet in order (with the device's entry as a hint when
   * offloaded), set the annotations, route the policy's drops, then publish the writes.
   */
  private classifyBatch(batch: PacketBatch, p: ParsedBatch, hints: Int32Array | null): ElementOutput {
    const t = this.table;
    const n = batch.count;
    const flow = batch.anno('flow');
    const dir = batch.anno('flowdir');
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (p.tracked[i] === 0) {
        flow[i] = -1;
        dir[i] = 0;
        this.untracked++;
        continue;
      }
      const e = t.classify(p.keys, i * KEY_WORDS, p.reversed[i] === 1, batch.tsSec[i], batch.tsNsec[i], p.tcpFlags[i], hints === null ? -1 : hints[i]);
      flow[i] = e;
      dir[i] = e >= 0 && t.lastReply ? 1 : 0;
      if (t.lastHinted) this.deviceHits++;
      if (e === FLOW_DROPPED) dropped++;
    }
    this.publish();
    if (dropped === 0) return [batch];
    // Without output 1 the policy's drops end here: counted, never lost.
    if (this.noutputs < 2) this.ledger.drop('table_full', dropped);
    const ports = new Int32Array(n);
    for (let i = 0; i < n; i++) ports[i] = flow[i] === FLOW_DROPPED ? 1 : 0;
    const [kept, drops] = batch.split(ports, 2);
    return this.noutputs > 1 ? [kept, drops] : [kept];
  }

  override structureImage(name: string): Uint32Array | undefined {
    return name === 'flows' ? this.table.image : undefined;
  }

  override handlers(): HandlerTable {
    const c = () => this.table.counters;
    return {
      size: counterHandler(() => c().size, 'live flows'),
      capacity: counterHandler(() => this.table.capacity, 'most live flows (the memory cap)'),
      bytes: counterHandler(() => this.table.bytes, 'bytes of the flow table image'),
      inserts: counterHandler(() => c().inserts, 'flows created'),
      lookups: counterHandler(() => c().lookups, 'packets classified'),
      hits: counterHandler(() => c().hits, 'packets of known flows'),
      evictions: counterHandler(() => c().evictions, 'flows ended to make room'),
      expirations: counterHandler(() => c().expirations, 'flows ended after their idle timeout'),
      drops: counterHandler(() => c().drops_full, 'packets dropped because the table was full'),
      passed: counterHandler(() => c().passed_full, 'packets passed untracked because the table was full'),
      untracked: counterHandler(() => this.untracked, 'packets without an IP header'),
      fields: { read: () => this.table.layout.describe(), doc: 'flow-local fields: owner.name type @word' },
      ...(this.runner?.handlers() ?? { backend: { read: () => 'cpu (inline)', doc: 'where the lookup runs' } }),
      kernel_stats: { read: () => this.kernelStats.text(), doc: 'per kernel and backend: batches, items, host ms, device figures' },
      device_hits: counterHandler(() => this.deviceHits, "packets whose entry the backend's lookup found (checked on the host, used as is)"),
      migrate: { write: (v) => this.migrateHandler(v), doc: 'move the lookup to BACKEND while traffic flows' },
      location: { read: () => this.migration.locationText(), doc: 'where the lookup runs now' },
      migrations: { read: () => this.migration.historyText(), doc: 'one line per migration: result, bytes, times, batches drained' },
    };
  }

  override summary(): Record<string, number | string> {
    const c = this.table.counters;
    return { size: c.size, inserts: c.inserts, lookups: c.lookups, hits: c.hits, evictions: c.evictions, expirations: c.expirations, drops: c.drops_full, passed: c.passed_full, untracked: this.untracked, ...(this.runner === null && this.deviceHits === 0 ? {} : { device_hits: this.deviceHits }), ...(this.runner?.summary() ?? {}), ...this.migration.summary() };
  }

  private async migrateHandler(value: string): Promise<void> {
    const to = value.trim();
    // A split (`webgpu:0.7,cpu`) goes to the migrator, which says this element cannot run one.
    const r = /[:,]/.test(to) ? { success: true as const, data: to } : backendNameSchema.safeParse(to);
    if (!r.success) throw new HandlerError(`migrate: ${r.error.issues[0]?.message ?? `bad backend '${to}'`}`);
    let rec;
    try {
      rec = await this.migration.migrate(r.data);
    } catch (e) {
      if (e instanceof MigrationRefused) throw new HandlerError(e.message);
      throw e;
    }
    if (rec.status !== 'done') throw new HandlerError(`migration ${rec.from} -> ${rec.to} rolled back: ${rec.reason ?? ''}`);
  }
}
