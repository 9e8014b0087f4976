/**
 * The fpga backend: our lookup engine (hwsim/rtl/ip_lookup.v) simulated cycle by cycle by
 * Verilator, one simulator process per resident structure, driven over stdio.
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
import { buildSimulator, pipelineShape, simParamsSchema, type SimBuild, type SimParams } from '../../hwsim/build.js';
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

  private async ready(): Promise<SimBuild> {
    const a = await this.detect();
    if (!a.available) throw new BackendFailure('fpga', a.reason);
    if (this.build === undefined) throw new BackendFailure('fpga', 'no simulator build');
    return this.build;
  }

  async loadStructure(kind: StructureKind, image: Uint32Array, generation: number): Promise<StructureHandle> {
    this.checkFits(image.length, 'image');
    checkImage('fpga', kind, image);
    const head = Math.min(structureKind(kind).publishWords, image.length);
    const build = await this.ready();
    const sim = new SimProcess(build.binary, { timeoutMs: this.options.timeoutMs });
    const bp = this.options.backPressure;
    try {
      if (bp !== undefined) await sim.request(T_CONFIG, [Uint32Array.of(bp.stallPermille, bp.gapPermille, bp.seed)]);
      // Body first, the kind's publishing words (a header's root pointer) last: they make the table visible.
      const body = sim.request(T_WRITE, [Uint32Array.of(head, image.length - head), image.subarray(head)]);
      const publish = sim.request(T_WRITE, [Uint32Array.of(0, head), image.subarray(0, head)]);
      await Promise.all([body, publish]);
    } catch (e) {
      sim.kill();
      throw e;
    }
    const handle: StructureHandle = { backend: 'fpga', kind, id: nextStructureId++, generation, words: image.length };
    this.resident.set(handle.id, { handle, sim, inFlight: new Semaphore(this.options.maxInFlight), writes: Promise.resolve() });
    return handle;
  }

  async applyDelta(handle: StructureHandle, delta: ImageDelta): Promise<void> {
    const r = this.residentOf(handle);
    checkDelta(handle, delta);
    this.checkFits(delta.length, 'delta');
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
          `a record of more than ${pipelineShape(this.params).maxRecordPairs} pairs, a third node level, a tag-3 entry or an address past ${2 ** this.options.addressBits} words`,
      );
    }
    out.set(new Int32Array(reply.buffer, 32, count));
    return res;
  }

  /** The simulator process behind a structure (tests kill it to exercise the failure path). */
  simulatorOf(handle: StructureHandle): SimProcess {
    return this.residentOf(handle).sim;
  }

  protected defaultCosts(): CostModel {
    return { perItemNs: this.perItemNs, perBatchNs: this.perBatchNs, perByteTransferNs: 0, capacityBytes: 4 * 2 ** this.options.addressBits };
  }

  async dispose(): Promise<void> {
    const all = [...this.resident.values()];
    this.resident.clear();
    await Promise.all(all.map((r) => r.sim.close()));
  }

  private residentOf(handle: StructureHandle): Resident {
    const r = this.resident.get(handle.id);
    if (r === undefined || handle.backend !== 'fpga') throw new Error(`fpga: structure ${handle.id} is not resident on this backend`);
    return r;
  }

  private checkFits(words: number, what: string): void {
    const cap = 2 ** this.options.addressBits;
    // Too big for this device is a refusal: the caller falls back to cpu rather than failing.
    if (words > cap) throw new BackendRefusal('fpga', `${what} of ${words} words does not fit the simulated memory of ${cap} words (addressBits ${this.options.addressBits})`);
  }
}
