/**
 * Each element's share of the packets in a real run of a configuration (issue 11): the planner's
 * even split over outputs is a guess about the traffic mix (router.click's classifier sends every
 * packet of its capture to the IP path, not half), and an element's cost scales with what it
 * sees. `hetbox calibrate --config` runs the configuration as written, once, over its own capture
 * sources, and reads every element's accounting: share = packets in (a source's: packets it
 * produced) / packets the sources produced. Only configurations whose run is a pure replay are
 * run: every source a FromDump, nothing that sends or writes outside the process.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from '../core/router.js';
import { getBackend } from '../core/backend-registry.js';
import { elementLibrary } from '../elements/index.js';
import { readThreadCpu, threadCpuSince } from './thread-cpu-clock.js';
import { splitKeyword } from '../core/config/args.js';

/** Classes a measuring run must not contain: live I/O or files written. */
const SIDE_EFFECTS: ReadonlySet<string> = new Set(['FromDevice', 'ToDevice', 'ToDump']);
/** Sources a measuring run can replay. */
const REPLAYABLE: ReadonlySet<string> = new Set(['FromDump', 'Idle']);

export interface MeasuredShares {
  /** Absolute path of the configuration. */
  config: string;
  sha256: string;
  packets: number;
  shares: Record<string, number>;
  /** Batch size of the runs. */
  batch: number;
  /**
   * The host thread's time per source batch of each timed run (after one untimed warm-up run), ns:
   * its CPU time where the thread's clock can be read, else the wall time (as the parts' calibration
   * in app/host-calibration.ts, so the composition factor compares like with like).
   */
  nsPerBatch: number[];
  /** Some kernel element runs off the CPU as written (BACKEND or PLACE): the runs are not all-CPU. */
  offCpu: string[];
}

export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function build(text: string, config: string, batch: number): Router {
  return Router.fromText(text, config, elementLibrary, { batchSize: batch, log: { info: () => undefined, warn: () => undefined }, backends: getBackend });
}

/**
 * The shares, and the time of `runs` runs (after a warm-up run) of the configuration as written,
 * or why it was not run (a visible reason, never a silent even split).
 */
export async function measureShares(configFile: string, runs: number, batch = 256): Promise<MeasuredShares | { skipped: string }> {
  const config = path.resolve(configFile);
  const text = readFileSync(config, 'utf8');
  const router = build(text, config, batch);
  const nodes = router.graph.nodes;
  const effect = nodes.find((n) => SIDE_EFFECTS.has(n.cls.className));
  if (effect !== undefined) return { skipped: `${effect.parsed.name} (${effect.cls.className}) sends or writes outside the process; shares not measured` };
  const live = nodes.find((n) => n.inEdges === 0 && !REPLAYABLE.has(n.cls.className));
  if (live !== undefined) return { skipped: `source ${live.parsed.name} (${live.cls.className}) is not a capture replay; shares not measured` };
  await router.initialize();
  try {
    const s = await router.run();
    const sources = new Set(nodes.filter((n) => n.inEdges === 0).map((n) => n.parsed.name));
    const total = s.accounting.filter((a) => sources.has(a.name)).reduce((sum, a) => sum + a.produced, 0);
    if (total === 0) return { skipped: 'the sources produced no packets; shares not measured' };
    const shares: Record<string, number> = {};
    for (const a of s.accounting) shares[a.name] = (sources.has(a.name) ? a.produced : a.in.reduce((x, y) => x + y, 0)) / total;
    const offCpu = nodes.filter((n) => (n.cls.declares?.kernels.length ?? 0) > 0 && (n.place !== undefined || hasBackendArgument(n.parsed.args.list))).map((n) => n.parsed.name);
    const nsPerBatch: number[] = [];
    for (let r = 0; r < runs; r++) {
      const timed = build(text, config, batch);
      await timed.initialize();
      try {
        const before = readThreadCpu();
        const t = await timed.run();
        const cpu = threadCpuSince(before);
        nsPerBatch.push((cpu === null ? t.elapsedMs * 1e6 : cpu.onCpuNs) / Math.max(1, t.batches));
      } finally {
        await timed.cleanup();
      }
    }
    return { config, sha256: configHash(text), packets: total, shares, batch, nsPerBatch, offCpu };
  } finally {
    await router.cleanup();
  }
}

/** A kernel element's own `BACKEND x` argument (even `cpu`: that runs through a runner, not inline). */
function hasBackendArgument(args: readonly { keyword?: string; value: string; raw: string }[]): boolean {
  return args.some((a) => (a.keyword ?? splitKeyword(a.raw, ['BACKEND']).keyword) === 'BACKEND');
}
