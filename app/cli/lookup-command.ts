/**
 * `hetbox lookup --fib FILE [--fib FILE ...] [--backend B] [--skip-bad] [--format F]`:
 * longest-prefix match of addresses read from stdin (`ADDRESS` or `FIBINDEX ADDRESS` per line),
 * printing `ADDRESS PREFIX NEXTHOP` (`- -` when nothing matches), streaming in batches.
 * With `--backend`, next hops come from that backend's lookup kernel (checked line by line
 * against the logical table; a disagreement is reported and makes the exit status 1).
 * `--skip-bad` skips bad route lines and reports how many per file on stderr; a route file with
 * no valid route at all is still an error (exit status 1), never an empty table.
 */
import { runLookupStream, type BatchLookup } from '../lookup-stream.js';
import { OffloadRunner } from '../../core/offload/offload-runner.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup/index.js';
import { getBackend, disposeBackends } from '../../core/backend-registry.js';
import { consoleLogger } from '../../core/runtime-env.js';
import { H_GENERATION } from '../../core/structures/multi-fib/image-format.js';
import { RouteFormat } from '../../core/routes/load-routes.js';
import { parseBackendName } from './backend-access.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';

export async function lookupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      fib: { type: 'string', multiple: true },
      backend: { type: 'string', default: 'cpu' },
      'skip-bad': { type: 'boolean', default: false },
      format: { type: 'string' },
    },
    true,
  );
  const fibFiles = [...(values.fib ?? []), ...positionals];
  if (fibFiles.length === 0) throw new UsageError('expected at least one --fib FILE');
  const backend = parseBackendName(values.backend);
  let format: RouteFormat | undefined;
  if (values.format !== undefined) {
    const f = RouteFormat.safeParse(values.format);
    if (!f.success) throw new UsageError(`--format: expected ${RouteFormat.options.join(', ')}`);
    format = f.data;
  }

  let runner: OffloadRunner | null = null;
  const viaBackend: BatchLookup = async (image, vrf, dst, out, count) => {
    if (runner === null) {
      runner = await OffloadRunner.open({
        kernel: IP_LOOKUP,
        backend,
        owner: 'hetbox lookup',
        env: { log: consoleLogger, strictBackends: process.env.CI === 'true', backend: getBackend },
      });
      // The table is loaded once and not changed while addresses stream through.
      await runner.addStructure('multi-fib-v4', new Uint32Array(image.buffer, image.byteOffset, image.length), image[H_GENERATION]);
    }
    await runner.run({
      count,
      inputs: { dst: dst.subarray(0, count), vrf: (vrf ?? new Int32Array(count)).subarray(0, count) },
      outputs: { nextHop: out.subarray(0, count) },
    });
  };
  try {
    const res = await runLookupStream({
      fibFiles,
      input: process.stdin,
      output: process.stdout,
      lookup: backend === 'cpu' ? undefined : viaBackend,
      load: { skipBad: values['skip-bad'], ...(format ? { format } : {}) },
    });
    // --skip-bad never hides what it skipped (a file where nothing was valid fails to load).
    for (const k of res.skippedRouteLines) process.stderr.write(`hetbox lookup: ${k.file}: ${k.skipped} bad route line(s) skipped (first: ${k.first})\n`);
    if (res.badLines > 0) process.stderr.write(`hetbox lookup: ${res.badLines} bad input line(s) skipped\n`);
    return res.mismatches > 0 ? 1 : 0;
  } finally {
    await (runner as OffloadRunner | null)?.close();
    await disposeBackends();
  }
}
