/**
 * Host element calibration: what an element without kernels costs on this machine's CPU, measured
 * the way the planner charges it (per source batch, scheduler hops included), so `hetbox plan`
 * stops guessing the host side (issue 11: the built-in 10 ns/packet made every prediction 13-60x
 * too fast).
 *
 * Method, per element spec `Class(args)` and batch size B, on real packets (a capture replayed):
 *   base  = FromDump -> [prefix ->] Discard
 *   test  = FromDump -> [prefix ->] x :: Class(args) -> Discard (every output to a Discard)
 * time per source batch = elapsed / batches of each run; the element's cost is test - base
 * (the median over interleaved rounds of each round's difference, so load changes hit both alike), fitted over the batch sizes
 * with the kernels' least-squares fit (`fitBatchCost`). The prefix is `Strip(14)` when the
 * element passes more packets after it (IP-layer elements drop raw Ethernet frames, and a cheap
 * drop path is not what they cost in a router), else none. The source's own figure (read, batch,
 * the scheduler's run loop, one Discard) is the base pipeline itself, charged to `FromDump`; so
 * `Discard` is recorded at 0 (its cost is inside the source's figure: a source needs a sink, so
 * the two cannot be timed apart).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from '../core/router.js';
import { fitBatchCost, type BatchSample, type LinearFit } from '../core/planner/calibration.js';
import { elementLibrary } from '../elements/index.js';

/** Element specs calibrated by default: the host elements of the example configurations. */
export const DEFAULT_HOST_ELEMENTS: readonly string[] = [
  'Counter',
  'Classifier(12/0800, -)',
  'Strip(14)',
  'Unstrip(14)',
  'CheckIPHeader',
  'DecIPTTL',
  'Paint(1)',
  'EtherEncap(0x0800, 00:00:00:00:00:01, 00:00:00:00:00:02)',
  'Queue',
  'Tee(2)',
  'ToDump(FILE "$TMP/calibrate.pcap")',
];

export interface HostCalibratedCost {
  className: string;
  /** The spec timed, e.g. `Classifier(12/0800, -)`. */
  spec: string;
  /** What ran before it (`Strip(14)` or empty). */
  prefix: string;
  perItemNs: number;
  perBatchNs: number;
  fit: LinearFit;
  samples: BatchSample[];
}

export interface HostCalibration {
  data: string;
  batches: number[];
  costs: HostCalibratedCost[];
  /** Specs that could not be timed, with the reason (a visible gap, not a silent estimate). */
  skipped: string[];
}

export interface HostCalibrationOptions {
  capture: string;
  batches: readonly number[];
  /** Interleaved rounds per batch size; the median counts. */
  repeats: number;
  /** Capture replays per run. */
  replays: number;
}

const SOURCE = 'FromDump';
const PREFIXES = ['', 'Strip(14)'] as const;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function className(spec: string): string {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(spec);
  if (m === null) throw new Error(`host calibration: '${spec}' is not an element spec`);
  return m[1];
}

interface Pipeline {
  text: string;
}

/**
 * The pipeline text for `spec` (or the base without it), with `outputs` of x each to a Discard.
 * The graph reports an unconnected output by port; `connect` grows `outputs` until it builds.
 */
function pipeline(capture: string, replays: number, prefix: string, spec: string | null, outputs: number): Pipeline {
  const src = `src :: ${SOURCE}(FILE "${capture}", STOP true, REPEAT ${replays})`;
  const pre = prefix === '' ? '' : ` -> ${prefix}`;
  if (spec === null) return { text: `${src}${pre} -> Discard;\n` };
  const lines = [`${src}${pre} -> x :: ${spec};`];
  for (let o = 0; o < outputs; o++) lines.push(`x[${o}] -> Discard;`);
  return { text: `${lines.join('\n')}\n` };
}

interface Timed {
  nsPerBatch: number;
  /** Packets x sent on, over all its outputs (chooses the prefix). */
  passed: number;
}

async function time(text: string, batch: number): Promise<Timed> {
  const router = Router.fromText(text, 'host-calibration.click', elementLibrary, { batchSize: batch, log: { info: () => undefined, warn: () => undefined } });
  await router.initialize();
  try {
    const s = await router.run();
    const x = s.accounting.find((a) => a.name === 'x');
    return { nsPerBatch: (s.elapsedMs * 1e6) / Math.max(1, s.batches), passed: x === undefined ? 0 : x.out.reduce((a, b) => a + b, 0) };
  } finally {
    await router.cleanup();
  }
}

/** How many outputs `spec` needs connected: the graph names the first unconnected one. */
function outputsNeeded(capture: string, prefix: string, spec: string): number {
  for (let outputs = 0; outputs <= 16; outputs++) {
    try {
      Router.fromText(pipeline(capture, 1, prefix, spec, outputs).text, 'host-calibration.click', elementLibrary);
      return outputs;
    } catch (e) {
      if (!/output \d+ of 'x' .* is not connected/.test((e as Error).message)) throw e;
    }
  }
  throw new Error(`${spec}: more than 16 outputs`);
}

export async function calibrateHostElements(specs: readonly string[], opts: HostCalibrationOptions): Promise<HostCalibration> {
  if (opts.batches.length < 2) throw new Error('calibrate: at least two batch sizes are needed to separate per-batch from per-item cost');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hetbox-host-cal-'));
  const skipped: string[] = [];
  try {
    // Choose each spec's prefix and output count with one short run of each prefix.
    const plans: { spec: string; cls: string; prefix: string; outputs: number }[] = [];
    for (const raw of specs) {
      const spec = raw.replaceAll('$TMP', tmp);
      let best: { prefix: string; outputs: number; passed: number } | null = null;
      let problem = '';
      for (const prefix of PREFIXES) {
        try {
          const outputs = outputsNeeded(opts.capture, prefix, spec);
          const t = await time(pipeline(opts.capture, 1, prefix, spec, outputs).text, opts.batches[0]);
          if (best === null || t.passed > best.passed) best = { prefix, outputs, passed: t.passed };
        } catch (e) {
          problem = (e as Error).message;
        }
      }
      if (best === null) skipped.push(`${raw}: ${problem}`);
      else plans.push({ spec, cls: className(spec), prefix: best.prefix, outputs: best.outputs });
    }
    const prefixes = [...new Set(plans.map((p) => p.prefix))];
    // times[key][batch index] = per-round ns per batch; key '' + prefix is a base pipeline.
    const times = new Map<string, number[][]>();
    const record = (key: string, bi: number, ns: number): void => {
      const rows = times.get(key) ?? opts.batches.map(() => []);
      rows[bi].push(ns);
      times.set(key, rows);
    };
    for (let round = 0; round < opts.repeats; round++) {
      for (const [bi, batch] of opts.batches.entries()) {
        // Base first, then each element: every round sees all of them under the same load.
        for (const prefix of new Set(['', ...prefixes])) record(`base:${prefix}`, bi, (await time(pipeline(opts.capture, opts.replays, prefix, null, 0).text, batch)).nsPerBatch);
        for (const p of plans) record(`x:${p.spec}`, bi, (await time(pipeline(opts.capture, opts.replays, p.prefix, p.spec, p.outputs).text, batch)).nsPerBatch);
      }
    }
    const medians = (key: string): number[] => times.get(key)!.map(median);
    // Per round the element's run minus the base run of the same round, then the median: load
    // drifting between rounds cancels out.
    const pairedMedians = (key: string, baseKey: string): number[] => {
      const b = times.get(baseKey)!;
      return times.get(key)!.map((xs, bi) => median(xs.map((x, r) => x - b[bi][r])));
    };
    const costs: HostCalibratedCost[] = [];
    const add = (cls: string, spec: string, prefix: string, ns: number[]): void => {
      const samples = opts.batches.map((batch, i) => ({ batch, ns: Math.max(0, ns[i]) }));
      const fit = fitBatchCost(samples);
      costs.push({ className: cls, spec, prefix, perItemNs: fit.perItemNs, perBatchNs: fit.perBatchNs, fit, samples });
    };
    // The source: reading, batching, the run loop and one sink.
    const base = medians('base:');
    add(SOURCE, `${SOURCE} -> Discard`, '', base);
    add('Discard', 'Discard (inside the FromDump figure)', '', base.map(() => 0));
    for (const p of plans) {
      add(p.cls, p.spec.replaceAll(tmp, '$TMP'), p.prefix, pairedMedians(`x:${p.spec}`, `base:${p.prefix}`));
    }
    return { data: opts.capture, batches: [...opts.batches], costs, skipped };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
