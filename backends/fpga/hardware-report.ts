/**
 * `hetbox backends` for the fpga backend: the pipeline at the configured clock and part, with
 * resources from Yosys (synthesized once per RTL version, then cached) and the block RAM an image
 * of a given size would need. Synthesis failures are reported as a line, never thrown.
 */
import { pipelineShape } from '../../hwsim/build.js';
import { DEFAULT_SYNTH_PARAMS, synthesize, type SynthResult } from '../../hwsim/synth.js';
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
  return { view, lines };
}
