/**
 * The hardware view of the fpga backend: what the simulated pipeline would be on a real part.
 * Cycle figures come from the simulator, resources from Yosys (hwsim/synth.ts), capacities from
 * the part's data sheet. `describeFpgaHardware` is what `hetbox backends` prints.
 *
 * Memory decision. The pipeline reads the image once per stage, so in block RAM each stage needs
 * its own replica of the image (a pair stage's two reads hit an even/odd-banked copy, a node
 * header stage's a 16-way word-interleaved one: still one copy per stage). A RAMB36 holds 1,024
 * 32-bit words. In layout 1 the 2023 full table (1,629,060 words, 6.2 MiB as MultiFib built it)
 * needed 1,591 RAMB36 for ONE copy, more than the 690T's 1,470 in all. Layout 2 (10-word node
 * headers, 16-bit run entries) brings it to about 814,000 words (3.1 MiB as test/fpga's builder
 * makes it from the 901,899 prefixes with 64 next hops; MultiFib's own count may differ a
 * little): 795 RAMB36 for one copy, which fits, but 12 copies need 9,540. So a full table
 * is still refused on-chip, with those numbers, and modelled off-chip instead: a NetFPGA SUME carries
 * 3 x 72 Mbit QDRII+ SRAM (27 MB), and the `memoryLatency` parameter gives every memory stage the
 * extra read latency of such a controller (the pipeline's throughput is unchanged, its latency
 * grows by stages x (latency - 1)). What the model leaves out: the SRAM's port count (a real
 * design would split the stages over the three chips and their two ports each, or lower the
 * lookup rate), which the report states beside the projection.
 */
import { z } from 'zod';
import { pipelineShape, type SimParams } from '../../hwsim/build.js';
import type { SynthResult } from '../../hwsim/synth.js';

export const fpgaPartSchema = z.object({
  name: z.string().min(1),
  ramb36: z.number().int().positive(),
  luts: z.number().int().positive(),
  flipFlops: z.number().int().positive(),
});
export type FpgaPart = z.infer<typeof fpgaPartSchema>;

/** Xilinx Virtex-7 XC7VX690T (NetFPGA SUME). */
export const VIRTEX7_690T: FpgaPart = { name: 'Virtex-7 XC7VX690T', ramb36: 1470, luts: 433_200, flipFlops: 866_400 };

/** 32-bit words one RAMB36 holds (1K x 36 mode, parity bits unused). */
export const WORDS_PER_RAMB36 = 1024;

export interface BramFit {
  ramb36PerPort: number;
  ramb36Total: number;
  fits: boolean;
}

/** Block RAM for `words` of image replicated `replicas` times, against the part's capacity. */
export function bramFit(words: number, replicas: number, part: FpgaPart): BramFit {
  const per = Math.ceil(words / WORDS_PER_RAMB36);
  const total = per * replicas;
  return { ramb36PerPort: per, ramb36Total: total, fits: total <= part.ramb36 };
}

export interface HardwareView {
  part: FpgaPart;
  clockMHz: number;
  stages: number;
  latencyCycles: number;
  latencyNs: number;
  projectedLookupsPerSecond: number;
  /** Block RAM for an image of `imageWords`, and whether it fits on-chip. */
  imageWords: number;
  bram: BramFit;
  synth?: SynthResult;
  /** Resources as a share of the part, from synthesis (logic) and the extrapolated image memory. */
  utilization?: { luts: number; flipFlops: number; ramb36: number };
  notes: string[];
}

/** The pipeline at `clockMHz` on `part` holding an image of `imageWords`, with synthesis figures when given. */
export function hardwareView(params: SimParams, clockMHz: number, part: FpgaPart, imageWords: number, synth?: SynthResult): HardwareView {
  const shape = pipelineShape(params);
  // One replica per stage: a stage's two reads use both banks of its copy (even/odd, or 16-way).
  const bram = bramFit(imageWords, shape.stages, part);
  const notes: string[] = [];
  if (!bram.fits) {
    notes.push(
      `image of ${imageWords} words needs ${bram.ramb36PerPort} RAMB36 per stage x ${shape.stages} stages = ${bram.ramb36Total} > ${part.ramb36} on ${part.name}: refused on-chip; it belongs in off-chip SRAM (a SUME has 27 MB of QDRII+), whose extra read latency the memoryLatency parameter models (now ${params.memoryLatency} cycle(s) per read)`,
    );
  }
  const view: HardwareView = {
    part,
    clockMHz,
    stages: shape.stages,
    latencyCycles: shape.latency,
    latencyNs: (shape.latency * 1000) / clockMHz,
    projectedLookupsPerSecond: clockMHz * 1e6,
    imageWords,
    bram,
    synth,
    notes,
  };
  if (synth !== undefined) {
    view.utilization = { luts: synth.luts / part.luts, flipFlops: synth.flipFlops / part.flipFlops, ramb36: bram.ramb36Total / part.ramb36 };
  }
  return view;
}

/** Rows for `hetbox backends`: one line per fact. */
export function describeFpgaHardware(view: HardwareView): string[] {
  const pct = (x: number): string => `${(100 * x).toFixed(x < 0.01 ? 3 : 1)}%`;
  const rows = [
    `part ${view.part.name}: ${view.part.luts} LUTs, ${view.part.flipFlops} FFs, ${view.part.ramb36} RAMB36`,
    `pipeline: ${view.stages} memory stages, 1 lookup/cycle, latency ${view.latencyCycles} cycles (${view.latencyNs.toFixed(1)} ns at ${view.clockMHz} MHz)`,
    `projected: ${(view.projectedLookupsPerSecond / 1e6).toFixed(0)} M lookups/s at ${view.clockMHz} MHz`,
    `image ${view.imageWords} words: ${view.bram.ramb36PerPort} RAMB36 per stage, ${view.bram.ramb36Total} in all (${view.bram.fits ? 'fits on-chip' : 'does not fit on-chip'})`,
  ];
  if (view.synth) {
    const s = view.synth;
    rows.push(`synthesis (yosys ${s.yosysVersion}, synth_xilinx, memory ${2 ** s.params.addressBits} words): ${s.luts} LUTs, ${s.flipFlops} FFs, ${s.ramb36} RAMB36 + ${s.ramb18} RAMB18`);
  }
  if (view.utilization) {
    const u = view.utilization;
    rows.push(`utilization: LUTs ${pct(u.luts)}, FFs ${pct(u.flipFlops)}, RAMB36 ${pct(u.ramb36)} (image memory extrapolated)`);
  }
  return [...rows, ...view.notes];
}
