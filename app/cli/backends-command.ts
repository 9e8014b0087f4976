/**
 * `hetbox backends [--json] [--synth]`: every backend with its device, or the reason it is
 * unavailable. `--synth` adds the FPGA pipeline's resources from Yosys synthesis against the
 * configured part (about 40 s the first time, cached by RTL version after that).
 */
import { describeBackends, disposeBackends, formatBackends } from '../../core/backend-registry.js';
import { fpgaHardwareReport } from '../../backends/fpga/index.js';
import { parseFlags } from './parse-flags.js';

export async function backendsCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean', default: false }, synth: { type: 'boolean', default: false } }, false);
  const list = await describeBackends();
  const hardware = values.synth ? await fpgaHardwareReport() : null;
  if (values.json) process.stdout.write(`${JSON.stringify({ backends: list, fpgaHardware: hardware?.view ?? null }, null, 2)}\n`);
  else {
    process.stdout.write(`${formatBackends(list)}\n`);
    if (hardware !== null) process.stdout.write(`fpga hardware view (full 2023 table image):\n${hardware.lines.map((l) => `  ${l}`).join('\n')}\n`);
  }
  await disposeBackends();
  return 0;
}
