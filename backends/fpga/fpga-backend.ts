/**
 * The fpga backend: our engines (hwsim/rtl/ip_lookup.v for multi-FIB images, flow_lookup.v for
 * flow-table images, flow_hash.v for the stateless flow hash) simulated cycle by cycle by
 * Verilator, one simulator process per resident structure (and one for flow_hash), driven over
 * stdio. The flow models are built (or found cached) in the background from `detect()` on and
 * awaited by their first use; a flow model that fails to build fails its kernels with
 * BackendFailure (naming the build error) and leaves ip-lookup available.
 *
 * The memory holds the image word for word, so loading is writes of the image (header last: its
 * L0 word is the root flip) and a delta is its own writes in order. Lookup batches are pipelined
 * into the simulator (up to `maxInFlight` per structure); every batch reports the simulated cycles
 * it took. When the simulator dies or hangs, every outstanding batch rejects with BackendFailure.
 */
import { z } from 'zod';
import {
  BackendFailure,
  BackendRefusal,
  type Availability,
  type BackendName,
  type CostModel,
  type StructureHandle,
} from '../../core/backend.js';
import { BackendBase } from '../../core/backend-base.js';
import { Semaphore } from '../../core/async/semaphore.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { checkDelta, checkImage, structureKind } from '../../core/structures/structure-kinds.js';
import {
  buildFlowSimulator,
  buildSimulator,
  DEFAULT_FLOW_SIM_PARAMS,
  flowPipelineShape,
  flowSimParamsSchema,
  pipelineShape,
  simParamsSchema,
  type FlowDesign,
  type ResolvedFlowSimParams,
  type SimBuild,
  type SimParams,
} from '../../hwsim/build.js';
import { FLOW_TABLE } from '../../core/structures/flow-table/flow-table-image.js';
import { SimProcess, T_CONFIG, T_INFO, T_LOOKUP, T_READ, T_WRITE } from './sim-process.js';
import { fpgaPartSchema, VIRTEX7_690T, bramFit } from './hardware-view.js';
// The kernel forms register on first import of the backend, whichever module a caller imports.
import './kernels/index.js';

export const fpgaOptionsSchema = z.object({
  addressBits: simParamsSchema.shape.addressBits.default(22),
  memoryLatency: simParamsSchema.shape.memoryLatency.default(1),
  recordSteps: simParamsSchema.shape.recordSteps.default(6),
  /** Simulate one shared image array (default) or the hardware's banked copy per stage (slower, no read-back). */
  sharedMemory: z.boolean().default(true),
  /** Clock the cycle counts are projected at (a NetFPGA SUME-class part runs the datapath at 200 MHz). */
  clockMHz: z.number().positive().max(1000).default(200),
  part: fpgaPartSchema.default(VIRTEX7_690T),
  /** Lookup batches queued in one simulator at once. */
  maxInFlight: z.number().int().min(1).max(64).default(4),
  /** No reply for this long while work is outstanding: the simulator is declared hung. */
  timeoutMs: z.number().int().min(10).max(600_000).default(15_000),
  /** Random back-pressure injected by the harness (tests): per-mille of cycles with the result side
   * not ready, and of cycles with no request offered. */
  backPressure: z
    .object({ stallPermille: z.number().int().min(0).max(999), gapPermille: z.number().int().min(0).max(999), seed: z.number().int().min(0).max(0xffffffff) })
    .optional(),
  /** The flow models' parameters (flow_lookup's memory and slots per bucket), apart from
   * ip_lookup's so every FpgaBackend shares one cached flow build whatever its ip_lookup options. */
  flow: flowSimParamsSchema.default(flowSimParamsSchema.parse(DEFAULT_FLOW_SIM_PARAMS)),
});
export type FpgaOptions = z.input<typeof fpgaOptionsSchema>;
type ResolvedOptions = z.output<typeof fpgaOptionsSchema>;

/** What the simulator reports for one lookup batch. */
export interface LookupBatchResult {
  /** Cycles from the batch's first accepted request to its last result. */
  cycles: number;
  /** Cycles from its first to its last accepted request: `count` when nothing stalled. */
  issueCycles: number;
  minLatency: number;
  maxLatency: number;
  faults: number;
  firstFault: number;
}

interface Resident {
  handle: StructureHandle;
  /** The design simulating it: ip_lookup (multi-FIB images) or flow_lookup (flow tables). */
  design: 'ip_lookup' | 'flow_lookup';
  sim: SimProcess;
  /** Batches in the simulator at once (options.maxInFlight). */
  inFlight: Semaphore;
  /** Delta writes not yet acknowledged; reads wait for them. */
  writes: Promise<unknown>;
}

let nextStructureId = 1;

export class FpgaBackend extends BackendBase {
  readonly name: BackendName = 'fpga';
  readonly options: ResolvedOptions;
  private detected: Promise<Availability> | undefined;
  private build: SimBuild | undefined;
  private flowBuilds: Map<FlowDesign, Promise<SimBuild<ResolvedFlowSimParams>>> | undefined;
  /** flow_hash has no state: one simulator per backend serves every batch. */
  private hashSim: { sim: SimProcess; inFlight: Semaphore } | undefined;
  private readonly resident = new Map<number, Resident>();
  private readonly perItemNs = 70;
  private readonly perBatchNs = 60_000;

  constructor(options: FpgaOptions = {}) {
    super();
    this.options = fpgaOptionsSchema.parse(options);
  }

  get params(): SimParams {
    const o = this.options;
    return { addressBits: o.addressBits, memoryLatency: o.memoryLatency, recordSteps: o.recordSteps, sharedMemory: o.sharedMemory };
  }

  detect(): Promise<Availability> {
    this.detected ??= this.detectOnce();
    return this.detected;
  }

  private async detectOnce(): Promise<Availability> {
    this.startFlowBuilds();
    let build: SimBuild;
    try {
      build = await buildSimulator(this.params);
    } catch (e) {
      return { available: false, reason: (e as Error).message };
    }
    // The model must also start and answer: a build for another machine or a broken library shows here.
    const sim = new SimProcess(build.binary, { timeoutMs: this.options.timeoutMs });
    try {
      const info = await sim.request(T_INFO, []);
      const shape = pipelineShape(this.params);
      if (info[4] !== shape.stages || info[5] !== shape.latency) {
        return { available: false, reason: `fpga: simulator reports ${info[4]} stages / latency ${info[5]}, expected ${shape.stages} / ${shape.latency}` };
      }
    } catch (e) {
      return { available: false, reason: `fpga: simulator ${build.binary} does not answer: ${(e as Error).message}` };
    } finally {
      await sim.close();
    }
    this.build = build;
    return {
      available: true,
      device: {
        backend: 'fpga',
        description: `ip_lookup pipeline simulated by ${build.tools.verilator.replace(/ rev.*$/, '')}`,
        software: true,
        sharesHostCpu: true,
        details: this.hardwareDetails(),
      },
    };
  }

  /** The hardware view shown by `hetbox backends`: pipeline shape, projected rate, memory fit. */
  hardwareDetails(): Record<string, string | number | boolean> {
    const o = this.options;
    const shape = pipelineShape(this.params);
    const memWords = 2 ** o.addressBits;
    const fit = bramFit(memWords, shape.stages, o.part);
    return {
      pipelineStages: shape.stages,
      latencyCycles: shape.latency,
      cyclesPerLookup: 1,
      clockMHz: o.clockMHz,
      projectedLookupsPerSecond: o.clockMHz * 1e6,
      latencyNs: (shape.latency * 1000) / o.clockMHz,
      memoryWords: memWords,
      memoryReadLatencyCycles: o.memoryLatency,
      maxRecordPairs: shape.maxRecordPairs,
      readPorts: shape.readPorts,
      part: o.part.name,
      ramb36PerStage: fit.ramb36PerPort,
      ramb36Needed: fit.ramb36Total,
      ramb36Available: o.part.ramb36,
      fitsOnChip: fit.fits,
      memoryModel: fit.fits ? 'block RAM' : `off-chip SRAM (does not fit on-chip: ${fit.ramb36Total} RAMB36 > ${o.part.ramb36})`,
    };
  }

  /** Starts (once) the flow models' builds; their failures are kept for the flow kernels to report. */
  private startFlowBuilds(): Map<FlowDesign, Promise<SimBuild<ResolvedFlowSimParams>>> {
    if (this.flowBuilds === undefined) {
      this.flowBuilds = new Map();
      for (const d of ['flow_lookup', 'flow_hash'] as const) {
        const b = buildFlowSimulator(d, this.options.flow);
        // Awaited by the flow kernels; not an unhandled rejection meanwhile.
        b.catch(() => undefined);
        this.flowBuilds.set(d, b);
      }
    }
    return this.flowBuilds;
  }

  /** A started, checked simulator of flow design `design` (its INFO must match the parameters). */
  private async flowSim(design: FlowDesign): Promise<SimProcess> {
    await this.ready();
    let build: SimBuild<ResolvedFlowSimParams>;
    try {
      const b = this.startFlowBuilds().get(design);
      if (b === undefined) throw new Error(`no build of ${design}`);
      build = await b;
    } catch (e) {
      throw new BackendFailure('fpga', `the ${design} model is unavailable: ${(e as Error).message}`);
    }
    const sim = new SimProcess(build.binary, { timeoutMs: this.options.timeoutMs });
    try {
      const info = await sim.request(T_INFO, []);
      const shape = flowPipelineShape(design, build.params);
      if (info[3] !== shape.stages || info[4] !== shape.latency) {
        throw new BackendFailure('fpga', `${design} simulator reports ${info[3]} stages / latency ${info[4]}, expected ${shape.stages} / ${shape.latency}`);
      }
      const bp = this.options.backPressure;
      if (bp !== undefined) await sim.request(T_CONFIG, [Uint32Array.of(bp.stallPermille, bp.gapPermille, bp.seed)]);
    } catch (e) {
      sim.kill();
      throw e;
    }
    return sim;
  }

  private async ready(): Promise<SimBuild> {
    const a = await this.detect();
    if (!a.available) throw new BackendFailure('fpga', a.reason);
    if (this.build === undefined) throw new BackendFailure('fpga', 'no simulator build');
    return this.build;
  }

  async loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle> {
    const design = kind === FLOW_TABLE ? 'flow_lookup' : 'ip_lookup';
    this.checkFits(image.length, 'image', design === 'flow_lookup' ? this.options.flow.addressBits : this.options.addressBits);
    checkImage('fpga', kind, image);
    const head = Math.min(structureKind(kind).publishWords, image.length);
    const build = await this.ready();
    const sim = design === 'flow_lookup' ? await this.flowSim('flow_lookup') : new SimProcess(build.binary, { timeoutMs: this.options.timeoutMs });
    const bp = this.options.backPressure;
    try {
      if (bp !== undefined && design === 'ip_lookup') await sim.request(T_CONFIG, [Uint32Array.of(bp.stallPermille, bp.gapPermille, bp.seed)]);
      // Body first, the kind's publishing words (a header's root pointer) last: they make the table visible.
      const body = sim.request(T_WRITE, [Uint32Array.of(head, image.length - head), image.subarray(head)]);
      const publish = sim.request(T_WRITE, [Uint32Array.of(0, head), image.subarray(0, head)]);
      await Promise.all([body, publish]);
    } catch (e) {
      sim.kill();
      throw e;
    }
    const handle: StructureHandle = { backend: 'fpga', kind, id: nextStructureId++, generation, words: image.length };
    this.resident.set(handle.id, { handle, design, sim, inFlight: new Semaphore(this.options.maxInFlight), writes: Promise.resolve() });
    return handle;
  }

  async applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void> {
    const r = this.residentOf(handle);
    checkDelta(handle, delta);
    this.checkFits(delta.length, 'delta', r.design === 'flow_lookup' ? this.options.flow.addressBits : this.options.addressBits);
    // A shrink zeroes the words it drops, so a later growth over them reads zero as on every backend.
    const dropped = handle.words - delta.length;
    const zero = dropped > 0 ? [r.sim.request(T_WRITE, [Uint32Array.of(delta.length, dropped), new Uint32Array(dropped)])] : [];
    // Frames are taken in order, so the publishing writes still land last.
    const acks = [...zero, ...delta.writes.map((w) => r.sim.request(T_WRITE, [Uint32Array.of(w.offset, w.words.length), w.words]))];
    const all = Promise.all(acks);
    r.writes = all.catch(() => undefined);
    await all;
    handle.generation = delta.toGeneration;
    handle.words = delta.length;
  }

  async readStructure(handle: StructureHandle): Promise<Uint32Array> {
    const r = this.residentOf(handle);
    await r.writes;
    const reply = await r.sim.request(T_READ, [Uint32Array.of(0, handle.words)]);
    return reply.slice(1, 1 + reply[0]);
  }

  async releaseStructure(handle: StructureHandle): Promise<void> {
    const r = this.resident.get(handle.id);
    if (r === undefined) return;
    this.resident.delete(handle.id);
    await r.sim.close();
  }

  /**
   * Looks up `count` items of `dst`/`vrf` into `out` on the structure's simulator. Rejects with
   * BackendFailure when the simulator fails, or when an item walks outside what the pipeline
   * resolves (the caller falls back to the CPU reference).
   */
  async lookup(handle: StructureHandle, dst: Int32Array, vrf: Int32Array, out: Int32Array, count: number): Promise<LookupBatchResult> {
    const r = this.residentOf(handle);
    if (r.design !== 'ip_lookup') throw new Error(`fpga: structure ${handle.id} (${handle.kind}) is not a multi-FIB image`);
    if (dst.length < count || vrf.length < count || out.length < count) throw new Error(`fpga: ip-lookup columns shorter than count ${count}`);
    if (r.sim.failed) throw r.sim.failed;
    const reply = await r.inFlight.use(() => r.sim.request(T_LOOKUP, [Uint32Array.of(count), dst.subarray(0, count), vrf.subarray(0, count)]));
    if (reply[0] !== count) throw new BackendFailure('fpga', `simulator answered ${reply[0]} results for a batch of ${count}`);
    const res: LookupBatchResult = {
      cycles: reply[1] + reply[2] * 2 ** 32,
      issueCycles: reply[3],
      minLatency: reply[4],
      maxLatency: reply[5],
      faults: reply[6],
      firstFault: reply[7],
    };
    if (res.faults > 0) {
      throw new BackendFailure(
        'fpga',
        `${res.faults} lookup(s) left the pipeline's limits, first at item ${res.firstFault} (dst 0x${(dst[res.firstFault] >>> 0).toString(16)}): ` +
          `a record of more than ${pipelineShape(this.params).maxRecordPairs} pairs, a third node level or an address past ${2 ** this.options.addressBits} words`,
      );
    }
    out.set(new Int32Array(reply.buffer, 32, count));
    return res;
  }

  /**
   * Looks `count` flow keys (ten key-word columns, contract order) up in a resident flow table on
   * its flow_lookup simulator, into `out` (entry index or FLOW_MISS). Rejects with BackendFailure
   * when the simulator fails or a key left the pipeline's limits (the caller falls back to the CPU).
   */
  async flowLookup(handle: StructureHandle, keyColumns: readonly Int32Array[], out: Int32Array, count: number): Promise<LookupBatchResult> {
    const r = this.residentOf(handle);
    if (r.design !== 'flow_lookup') throw new Error(`fpga: structure ${handle.id} (${handle.kind}) is not a flow table`);
    if (out.length < count || keyColumns.some((c) => c.length < count)) throw new Error(`fpga: flow-lookup columns shorter than count ${count}`);
    if (r.sim.failed) throw r.sim.failed;
    const reply = await r.inFlight.use(() => r.sim.request(T_LOOKUP, [Uint32Array.of(count), ...keyColumns.map((c) => c.subarray(0, count))]));
    const res = this.batchResult(reply, count);
    if (res.faults > 0) {
      throw new BackendFailure(
        'fpga',
        `${res.faults} flow lookup(s) left the pipeline's limits, first at item ${res.firstFault}: a table of more than ${this.options.flow.maxSlots} slots per bucket, or an entry past ${2 ** this.options.flow.addressBits} words`,
      );
    }
    out.set(new Int32Array(reply.buffer, 32, count));
    return res;
  }

  /** The Toeplitz flow hash of `count` items (src, dst, ports, proto columns) on the flow_hash simulator, into `out`. */
  async flowHash(columns: readonly [Int32Array, Int32Array, Int32Array, Int32Array], out: Int32Array, count: number): Promise<LookupBatchResult> {
    if (out.length < count || columns.some((c) => c.length < count)) throw new Error(`fpga: flow-hash columns shorter than count ${count}`);
    if (this.hashSim === undefined || this.hashSim.sim.failed) {
      const sim = await this.flowSim('flow_hash');
      this.hashSim = { sim, inFlight: new Semaphore(this.options.maxInFlight) };
    }
    const h = this.hashSim;
    const reply = await h.inFlight.use(() => h.sim.request(T_LOOKUP, [Uint32Array.of(count), ...columns.map((c) => c.subarray(0, count))]));
    const res = this.batchResult(reply, count);
    out.set(new Int32Array(reply.buffer, 32, count));
    return res;
  }

  private batchResult(reply: Uint32Array, count: number): LookupBatchResult {
    if (reply[0] !== count) throw new BackendFailure('fpga', `simulator answered ${reply[0]} results for a batch of ${count}`);
    return { cycles: reply[1] + reply[2] * 2 ** 32, issueCycles: reply[3], minLatency: reply[4], maxLatency: reply[5], faults: reply[6], firstFault: reply[7] };
  }

  /** The simulator process behind a structure (tests kill it to exercise the failure path). */
  simulatorOf(handle: StructureHandle): SimProcess {
    return this.residentOf(handle).sim;
  }

  protected defaultCosts(): CostModel {
    return { perItemNs: this.perItemNs, perBatchNs: this.perBatchNs, perByteTransferNs: 0, capacityBytes: 4 * 2 ** this.options.addressBits };
  }

  async dispose(): Promise<void> {
    const all = [...this.resident.values()].map((r) => r.sim);
    if (this.hashSim !== undefined) all.push(this.hashSim.sim);
    this.resident.clear();
    this.hashSim = undefined;
    await Promise.all(all.map((sim) => sim.close()));
  }

  private residentOf(handle: StructureHandle): Resident {
    const r = this.resident.get(handle.id);
    if (r === undefined || handle.backend !== 'fpga') throw new Error(`fpga: structure ${handle.id} is not resident on this backend`);
    return r;
  }

  private checkFits(words: number, what: string, addressBits: number): void {
    const cap = 2 ** addressBits;
    // Too big for this device is a refusal: the caller falls back to cpu rather than failing.
    if (words > cap) throw new BackendRefusal('fpga', `${what} of ${words} words does not fit the simulated memory of ${cap} words (addressBits ${addressBits})`);
  }
}
