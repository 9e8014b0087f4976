/**
 * `hetbox backends` for the fpga backend: the ip_lookup pipeline at the configured clock and part, with
 * resources from Yosys (synthesized once per RTL version, then cached) and the block RAM an image
 * of a given size would need; then the flow kernels' pipelines (flow_lookup, flow_hash) with
 * their own synthesis figures. Synthesis failures are reported as a line, never thrown.
 */
import { flowPipelineShape, FLOW_DESIGNS, pipelineShape, type FlowDesign } from '../../hwsim/build.js';
import { DEFAULT_FLOW_SYNTH_PARAMS, DEFAULT_SYNTH_PARAMS, synthesize, synthesizeFlow, type SynthResult } from '../../hwsim/synth.js';
import { fpgaOptionsSchema, type FpgaOptions } from './fpga-backend.js';
import { describeFpgaHardware, hardwareView, type HardwareView } from './hardware-view.js';

/** Words of the 2023 full-table image (901,899 prefixes) as MultiFib builds it (bench/fpga.ts prints it): the default "what if". */
export const FULL_TABLE_IMAGE_WORDS = 1_629_060;

export interface FpgaHardwareReport {
  view: HardwareView;
  lines: string[];
}

export async function fpgaHardwareReport(options: FpgaOptions = {}, imageWords = FULL_TABLE_IMAGE_WORDS, synth = true): Promise<FpgaHardwareReport> {
  const o = fpgaOptionsSchema.parse(options);
  const params = { addressBits: o.addressBits, memoryLatency: o.memoryLatency, recordSteps: o.recordSteps };
  let result: SynthResult | undefined;
  let synthLine: string | undefined;
  if (synth) {
    try {
      result = await synthesize({ ...DEFAULT_SYNTH_PARAMS, memoryLatency: o.memoryLatency, recordSteps: o.recordSteps });
    } catch (e) {
      synthLine = `synthesis unavailable: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  const view = hardwareView(params, o.clockMHz, o.part, imageWords, result);
  const lines = describeFpgaHardware(view);
  if (synthLine) lines.push(synthLine);
  lines.push(`stages read the image ${pipelineShape(params).readPorts} times per cycle (one replica per stage in block RAM)`);
  for (const d of FLOW_DESIGNS) lines.push(...(await flowDesignLines(d, o.flow.maxSlots, o.clockMHz, synth)));
  return { view, lines };
}

/** The flow kernels' pipelines: shape at the configured slots, and Yosys's figures (synthesized once, then cached; uncached, flow_lookup takes minutes). */
async function flowDesignLines(design: FlowDesign, maxSlots: number, clockMHz: number, synth: boolean): Promise<string[]> {
  const shape = flowPipelineShape(design, { maxSlots });
  const what = design === 'flow_lookup' ? `lookup/cycle, latency ${shape.latency} cycles (${((shape.latency * 1000) / clockMHz).toFixed(1)} ns at ${clockMHz} MHz), ${shape.wordsReadPerCycle} image words read per cycle (${2 * maxSlots} compare stages x 11, a 16-bank copy each)` : `hash/cycle, latency ${shape.latency} cycle, no memory`;
  const lines = [`${design} pipeline: ${shape.stages} stages, 1 ${what}`];
  if (!synth) return lines;
  try {
    const r = await synthesizeFlow(design, { ...DEFAULT_FLOW_SYNTH_PARAMS, maxSlots });
    const mem = design === 'flow_lookup' ? `, memory ${2 ** DEFAULT_FLOW_SYNTH_PARAMS.addressBits} words: ${r.ramb36} RAMB36 + ${r.ramb18} RAMB18 + ${r.cells.RAM64M ?? 0} RAM64M (distributed)` : '';
    lines.push(`${design} synthesis (yosys ${r.yosysVersion}, synth_xilinx${mem}): ${r.luts} LUTs, ${r.flipFlops} FFs, ${r.cells.DSP48E1 ?? 0} DSP48E1`);
  } catch (e) {
    lines.push(`${design} synthesis unavailable: ${(e as Error).message.split('\n')[0]}`);
  }
  return lines;
}
