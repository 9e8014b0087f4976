#!/usr/bin/env node
/**
 * The `hetbox` command:
 *   hetbox run CONFIG [--json] [--control PORT|HOST:PORT|PATH] [--linger] [--backend B] [--batch N] [--in-flight N] [--migrate EL=B@PACKETS ...]
 *               [--adapt [--adapt-every BATCHES] [--adapt-threshold R] [--adapt-dwell SAMPLES] [--costs FILE] [--backends LIST]]
 *   hetbox check CONFIG
 *   hetbox elements [NAME]
 *   hetbox backends [--json]
 *   hetbox lookup --fib FILE [--fib FILE ...] [--backend B]     (addresses on stdin)
 *   hetbox ctl ADDRESS list | read HANDLER [ARG] | write HANDLER VALUE
 *   hetbox flows CAPTURE [--json] [--capacity N]
 *   hetbox plan CONFIG [--json] [--objective throughput|latency] [--rate PPS] [--latency-bound US]
 *               [--batch N] [--costs FILE] [--backends LIST] [--dot FILE] [--svg FILE] [--splits on|off]
 *   hetbox calibrate [--backends LIST] [--batches LIST] [--repeats N] [--routes FILE] [--capture FILE] [--acl-rules FILE] [--json]
 */
import { UsageError } from './usage-error.js';
import { registerBackends } from '../backend-catalog.js';

const USAGE = `usage: hetbox <command> [options]
  run CONFIG        run a configuration (--json, --control ADDR, --linger, --backend B, --batch N, --in-flight N, --quiet,
                    --migrate EL=B@PACKETS: move EL to backend B (or a split, webgpu:0.7,cpu) live once PACKETS
                    packets were read; repeatable;
                    --adapt: re-plan when measured kernel costs differ from the planner's by more than
                    --adapt-threshold (0.5) for --adapt-dwell (3) samples every --adapt-every (32) batches,
                    or a backend fails, and migrate live, to a split or new shares too (--adapt-splits off:
                    single placements only); handler 'placements'; --costs, --backends as plan)
  check CONFIG      parse and validate a configuration only
  elements [NAME]   list element classes, or print one manual page
  backends          list backends with their device, or why each is unavailable (--json)
  lookup --fib FILE [--fib FILE ...] [--backend B]
                    longest-prefix match of addresses read from stdin ('ADDRESS' or 'FIB ADDRESS' lines)
  ctl ADDRESS list|read HANDLER [ARG]|write HANDLER VALUE
                    talk to a running 'hetbox run --control'
  flows CAPTURE     one line per flow (Community-ID, 5-tuple, packets/bytes per direction, TCP state),
                    diffable against Zeek's conn.log (--json, --capacity N)
  plan CONFIG       where each element should run and why: every candidate backend with its predicted
                    cost, against all-CPU, all-accelerator and greedy placements (--json,
                    --objective throughput|latency, --rate PPS, --latency-bound US, --batch N,
                    --costs FILE, --backends LIST, --dot FILE, --svg FILE, --splits on|off:
                    whether one element's batches may be shared between two backends)
  calibrate         time each kernel's forms on each backend over batch sizes (32..1M) on real data and
                    store the fitted costs in the user's cache dir for plan (--backends LIST,
                    --batches LIST, --repeats N, --routes FILE, --capture FILE, --acl-rules FILE, --json)`;

type Command = (args: string[]) => Promise<number>;

/**
 * Each command's module is imported when that command runs, not at start-up: `plan` pulls in
 * @viz-js (1.2 MB of script), `calibrate` and `plan` the planner, `backends` the FPGA reporter,
 * and a `hetbox run` would otherwise load and compile them all before its first packet
 * (test/cli/run-imports.test.ts keeps it so).
 */
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run-command.js')).runCommand,
  check: async () => (await import('./check-command.js')).checkCommand,
  elements: async () => (await import('./elements-command.js')).elementsCommand,
  backends: async () => (await import('./backends-command.js')).backendsCommand,
  lookup: async () => (await import('./lookup-command.js')).lookupCommand,
  ctl: async () => (await import('./ctl-command.js')).ctlCommand,
  flows: async () => (await import('./flows-command.js')).flowsCommand,
  plan: async () => (await import('./plan-command.js')).planCommand,
  calibrate: async () => (await import('./calibrate-command.js')).calibrateCommand,
};

async function main(argv: string[]): Promise<number> {
  registerBackends();
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
  if (load === undefined) {
    process.stderr.write(`hetbox: unknown command '${cmd}'\n${USAGE}\n`);
    return 2;
  }
  if (cmd === 'calibrate') {
    // Short timed runs one after another: freed memory kept for reuse, not faulted in afresh (app/memory-reuse.ts).
    const relaunched = (await import('../memory-reuse.js')).relaunchWithMemoryReuse(argv);
    if (relaunched !== null) return relaunched;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`hetbox ${cmd}: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`hetbox ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`hetbox: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
