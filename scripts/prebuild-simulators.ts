/**
 * Builds the FPGA backend's Verilator models (ip_lookup and the flow kernels' flow_lookup and
 * flow_hash, with the backend's default parameters) into .cache/hwsim, one after another, so the
 * first run or test that uses the fpga backend finds them cached. `npm run setup` runs this:
 * building them inside the test run instead costs minutes on a busy 2-core machine, where three
 * parallel builds starve the tests waiting on them. Without Verilator it says so and exits 0
 * (the fpga backend then reports itself unavailable, with the same reason).
 */
import { buildFlowSimulator, buildSimulator, FLOW_DESIGNS, probeTools, type SimBuild } from '../hwsim/build.js';
import { FpgaBackend } from '../backends/fpga/index.js';

async function main(): Promise<void> {
  try {
    await probeTools();
  } catch (e) {
    console.log(`setup: Verilator models not built: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const defaults = new FpgaBackend();
  const builds: [string, () => Promise<SimBuild<object>>][] = [
    ['ip_lookup', () => buildSimulator(defaults.params)],
    ...FLOW_DESIGNS.map((d): [string, () => Promise<SimBuild<object>>] => [d, () => buildFlowSimulator(d, defaults.options.flow)]),
  ];
  for (const [name, build] of builds) {
    const b = await build();
    console.log(`setup: Verilator model ${name} ${b.cached ? 'cached' : `built in ${(b.ms / 1000).toFixed(1)} s`}`);
  }
}

main().catch((e: unknown) => {
  console.error(`setup: building the Verilator models failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
