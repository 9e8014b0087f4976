/**
 * FlowHash([OFFSET n, BACKEND b, IN_FLIGHT n])
 *
 * Ports: 1 input, 1 or more outputs.
 *
 * Receive-side scaling in software: the RSS Toeplitz hash (Microsoft's default key, what NICs
 * and DPDK compute) of each IPv4 packet's addresses, plus its ports for TCP and UDP, into the
 * `flow` annotation — the `flow-hash` kernel, so it can run on any backend that has a form
 * (cpu inline by default; BACKEND webgpu or null through the offload runner, with visible CPU
 * fallback). Fragments hash their addresses only (their ports are not in every fragment), as
 * the RSS specification does. With N outputs a packet leaves on the output the default RSS
 * indirection table gives: entry (hash & 127), which is that index mod N — one flow, one output.
 * Packets that are not IPv4 or too short to hold the fields get flow 0 and are counted.
 *
 * Keywords:
 *   OFFSET     where the IPv4 header starts in the packet (default 0: after Strip(14)); 14 for
 *              Ethernet frames.
 *   BACKEND    cpu (default), webgpu, gpujs, fpga or null; IN_FLIGHT batches in flight (default 3).
 *
 * Handlers:
 *   count (read)        packets hashed
 *   unhashable (read)   packets that were not IPv4 or were too short (flow 0)
 *   backend, backend_requested, backend_device, backend_fallback (read)   where the kernel runs
 *   kernel_stats (read)  runs per (kernel, backend, variant): batches, items, host time, device figures
 *                        (inline cpu runs are timed on 1 batch in 16, the others' host time
 *                        estimated at the timed mean per item)
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import { splitByPorts } from '../core/element-helpers/classify-element.js';
import { ScratchInt32 } from '../core/element-helpers/scratch.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import type { BackendName } from '../core/backend.js';
import { backendNameSchema } from '../core/backend-registry.js';
import { openElementOffload, type OffloadRunner } from '../core/offload/offload-runner.js';
import { FLOW_HASH, flowHashReference } from '../core/kernels/flow-hash/index.js';
import { readBE32 } from '../core/net/ipv4.js';
import { counterHandler } from './lib/handler-helpers.js';
import { KernelStats, type KernelStatsEntry } from '../core/kernel-stats.js';
import { SampledKernelTiming } from '../core/element-helpers/sampled-kernel-timing.js';

export interface FlowHashConfig {
  OFFSET: number;
  BACKEND?: BackendName;
  IN_FLIGHT: number;
}

/** Entries in the RSS indirection table (the common NIC size); entry i holds queue i mod N. */
const RETA_SIZE = 128;

export class FlowHash extends Element<FlowHashConfig> {
  static readonly className = 'FlowHash';
  static readonly ports = { inputs: '1', outputs: '1-' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [FLOW_HASH],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'unhashable'], doc: 'packets hashed, and without an IPv4 header' },
    ],
  };
  static readonly manual = `FlowHash([OFFSET n, BACKEND b, IN_FLIGHT n])

Ports: 1 input, 1 or more outputs.

Receive-side scaling in software: the RSS Toeplitz hash (Microsoft's default key, what NICs
and DPDK compute) of each IPv4 packet's addresses, plus its ports for TCP and UDP, into the
\`flow\` annotation — the \`flow-hash\` kernel, so it can run on any backend that has a form
(cpu inline by default; BACKEND webgpu or null through the offload runner, with visible CPU
fallback). Fragments hash their addresses only (their ports are not in every fragment), as
the RSS specification does. With N outputs a packet leaves on the output the default RSS
indirection table gives: entry (hash & 127), which is that index mod N — one flow, one output.
Packets that are not IPv4 or too short to hold the fields get flow 0 and are counted.

Keywords:
  OFFSET     where the IPv4 header starts in the packet (default 0: after Strip(14)); 14 for
             Ethernet frames.
  BACKEND    cpu (default), webgpu, gpujs, fpga or null; IN_FLIGHT batches in flight (default 3).

Handlers:
  count (read)        packets hashed
  unhashable (read)   packets that were not IPv4 or were too short (flow 0)
  backend, backend_requested, backend_device, backend_fallback (read)   where the kernel runs
  kernel_stats (read)  runs per (kernel, backend, variant): batches, items, host time, device figures
                       (inline cpu runs are timed on 1 batch in 16, the others' host time
                       estimated at the timed mean per item)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<FlowHashConfig> = {
    keywords: ['OFFSET', 'BACKEND', 'IN_FLIGHT'],
    schema: z.object({
      OFFSET: arg.int(0, 65535).default(0),
      BACKEND: backendNameSchema.optional(),
      IN_FLIGHT: arg.int(1, 64).default(3),
    }),
  };

  static parseConfig(args: ConfigArgs): FlowHashConfig {
    return parseArgs(args, FlowHash.args);
  }

  private readonly portColumn = new ScratchInt32();
  private hashed = 0;
  private unhashable = 0;
  private runner: OffloadRunner | null = null;
  /** Every hash run's stats, inline or offloaded (the kernel_stats handler). */
  private readonly kernelStats = new KernelStats();
  private inlineStats: KernelStatsEntry | null = null;
  /** Inline runs are timed on one batch in TIMING_SAMPLE_EVERY: two clock reads per batch were a share of a small batch's cost. */
  private readonly inlineTiming = new SampledKernelTiming();

  override async initialize(): Promise<void> {
    this.runner = await openElementOffload(this, FLOW_HASH, this.config.BACKEND, this.config.IN_FLIGHT, this.kernelStats);
    if (this.runner !== null) this.concurrency = this.config.IN_FLIGHT;
  }

  override async cleanup(): Promise<void> {
    await this.runner?.close();
    this.runner = null;
  }

  process(batch: PacketBatch): ElementOutput | Promise<ElementOutput> {
    const n = batch.count;
    const src = new Int32Array(n);
    const dst = new Int32Array(n);
    const ports = new Int32Array(n);
    const proto = new Int32Array(n);
    const bad = this.extract(batch, src, dst, ports, proto);
    const flow = batch.anno('flow');
    const io = { count: n, inputs: { src, dst, ports, proto }, outputs: { flow } };
    const finish = (): ElementOutput => {
      // Packets without an IPv4 header carry flow 0, whatever the kernel made of their zeros.
      for (const i of bad) flow[i] = 0;
      this.hashed += n;
      this.unhashable += bad.length;
      return this.switchByFlow(batch);
    };
    if (this.runner === null) {
      // Without a backend: the cpu backend's form function itself.
      const t0 = this.inlineTiming.begin(false);
      flowHashReference(io);
      this.inlineTiming.end((this.inlineStats ??= this.kernelStats.entry(FLOW_HASH, 'cpu')), n, t0);
      return finish();
    }
    return this.runner.run(io).then(finish);
  }

  /** The hash's fields per packet; returns the packets that have none. */
  private extract(batch: PacketBatch, src: Int32Array, dst: Int32Array, ports: Int32Array, proto: Int32Array): number[] {
    const data = batch.data;
    const off = this.config.OFFSET;
    const bad: number[] = [];
    for (let i = 0; i < batch.count; i++) {
      const p = batch.offset[i] + off;
      const len = batch.length[i] - off;
      if (len < 20 || data[p] >> 4 !== 4) {
        bad.push(i);
        continue;
      }
      const ihl = (data[p] & 15) * 4;
      src[i] = readBE32(data, p + 12);
      dst[i] = readBE32(data, p + 16);
      const pr = data[p + 9];
      const fragment = ((data[p + 6] & 0x3f) | data[p + 7]) !== 0;
      if ((pr === 6 || pr === 17) && !fragment && len >= ihl + 4) {
        proto[i] = pr;
        ports[i] = readBE32(data, p + ihl);
      }
      // Other protocols and fragments: proto 0 tells the kernel to hash the addresses only.
    }
    return bad;
  }

  private switchByFlow(batch: PacketBatch): ElementOutput {
    const outs = this.noutputs;
    if (outs <= 1) return [batch];
    const flow = batch.anno('flow');
    const ports = this.portColumn.get(batch.count);
    let moved = 0;
    for (let i = 0; i < batch.count; i++) {
      const p = (flow[i] & (RETA_SIZE - 1)) % outs;
      ports[i] = p;
      if (p !== 0) moved++;
    }
    return splitByPorts(batch, ports, moved, outs);
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.hashed, 'packets hashed'),
      unhashable: counterHandler(() => this.unhashable, 'packets that were not IPv4 or too short (flow 0)'),
      ...(this.runner?.handlers() ?? { backend: { read: () => 'cpu (inline)', doc: 'where the hash runs' } }),
      kernel_stats: { read: () => this.kernelStats.text(), doc: 'per kernel and backend: batches, items, host ms, device figures' },
    };
  }

  /** Placement may differ between the exporting and the importing element (migration). */
  protected override stateConfigIgnores(): readonly string[] {
    return ['BACKEND', 'IN_FLIGHT'];
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.hashed, unhashable: this.unhashable });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.hashed = c.count;
    this.unhashable = c.unhashable;
  }

  override summary(): Record<string, number | string> {
    return { count: this.hashed, unhashable: this.unhashable, ...(this.runner?.summary() ?? {}) };
  }
}
