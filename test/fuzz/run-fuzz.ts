/**
 * `npm run fuzz [-- TARGET...] [--runs N] [--seed S] [--hang-ms MS]`: run fuzz targets from
 * test/fuzz/targets/ (all of them, or those named) for N inputs each (default 1,000,000, or
 * FUZZ_RUNS), outside CI. Each target runs in a worker thread under a watchdog: an input that
 * makes no progress for --hang-ms (default 30 s; generous, the machine is shared) is a hang, the
 * worker is stopped and restarted at the next batch. Prints inputs, time, inputs/s, crashes and
 * hangs per target, with (seed, batch, index) and the input of each failure, and writes the
 * same to .cache/fuzz/<target>.json. Exit status 1 if anything crashed or hung.
 */
import { Worker } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { loadTarget, targetFiles } from './load-targets.js';
import { BATCH, DONE, INDEX, type CrashMessage, type WorkerJob } from './fuzz-worker-protocol.js';

interface Failure {
  batch: number;
  index: number;
  input: string;
  error: string;
}

interface TargetReport {
  target: string;
  seed: number;
  /** Inputs run (not counting those skipped after a hang or a dead worker). */
  inputs: number;
  /** The rest of a batch after a hang or a dead worker, not run. */
  skipped: number;
  seconds: number;
  inputsPerSecond: number;
  crashes: number;
  hangs: number;
  failures: Failure[];
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BATCH_SIZE = 1000;
const KEEP_FAILURES = 50;

async function fuzzOne(file: string, runs: number, seed: number, hangMs: number): Promise<TargetReport> {
  const target = await loadTarget(file);
  const progress = new Int32Array(new SharedArrayBuffer(3 * 4));
  const report: TargetReport = { target: target.name, seed, inputs: 0, skipped: 0, seconds: 0, inputsPerSecond: 0, crashes: 0, hangs: 0, failures: [] };
  const started = performance.now();
  let firstBatch = 0;
  let lastLine = started;
  while (Atomics.load(progress, DONE) < runs) {
    const job: WorkerJob = { file, seed, firstBatch, batchSize: BATCH_SIZE, totalRuns: runs, progress: progress.buffer as SharedArrayBuffer };
    const worker = new Worker(path.join(HERE, 'fuzz-worker.js'), { workerData: job });
    const outcome = await new Promise<'done' | 'hang' | 'died'>((resolve) => {
      let seen = Atomics.load(progress, DONE);
      let seenAt = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        const done = Atomics.load(progress, DONE);
        if (done !== seen) {
          seen = done;
          seenAt = now;
        } else if (now - seenAt > hangMs) {
          clearInterval(timer);
          resolve('hang');
        }
        if (now - lastLine > 10_000) {
          lastLine = now;
          const secs = (now - started) / 1000;
          process.stderr.write(`${target.name}: ${done} inputs, ${(done / secs).toFixed(0)}/s, ${report.crashes} crashes, ${report.hangs} hangs\n`);
        }
      }, 250);
      worker.on('message', (m: CrashMessage | { kind: 'done' } | { kind: 'fatal'; error: string }) => {
        if (m.kind === 'crash') {
          report.crashes++;
          process.stderr.write(`${target.name}: crash at batch ${m.batch} index ${m.index}: ${m.error.split('\n')[0]}\n`);
          if (report.failures.length < KEEP_FAILURES) report.failures.push({ batch: m.batch, index: m.index, input: m.input, error: m.error });
        } else if (m.kind === 'fatal') {
          report.crashes++;
          report.failures.push({ batch: Atomics.load(progress, BATCH), index: Atomics.load(progress, INDEX), input: '(worker failed)', error: m.error });
        } else if (m.kind === 'done') {
          clearInterval(timer);
          resolve('done');
        }
      });
      worker.on('error', (e) => {
        report.crashes++;
        report.failures.push({ batch: Atomics.load(progress, BATCH), index: Atomics.load(progress, INDEX), input: '(uncaught in the worker)', error: e.stack ?? e.message });
        clearInterval(timer);
        resolve('died');
      });
      worker.on('exit', () => {
        clearInterval(timer);
        resolve('died');
      });
    });
    await worker.terminate();
    if (outcome === 'done') break;
    const batch = Atomics.load(progress, BATCH);
    const index = Atomics.load(progress, INDEX);
    if (outcome === 'hang') {
      report.hangs++;
      process.stderr.write(`${target.name}: hang at batch ${batch} index ${index}\n`);
      const input = fc.sample(target.arbitrary, { seed: seed + batch, numRuns: BATCH_SIZE })[index];
      report.failures.push({ batch, index, input: fc.stringify(input).slice(0, 4000), error: `no progress for ${hangMs} ms` });
    }
    // Skip the rest of the batch that failed and go on with the next.
    const skipped = Math.min(BATCH_SIZE - index, runs - Atomics.load(progress, DONE));
    Atomics.add(progress, DONE, Math.max(0, skipped));
    report.skipped += Math.max(0, skipped);
    firstBatch = batch + 1;
  }
  report.inputs = Atomics.load(progress, DONE) - report.skipped;
  report.seconds = (performance.now() - started) / 1000;
  report.inputsPerSecond = report.inputs / report.seconds;
  return report;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { runs: { type: 'string' }, seed: { type: 'string' }, 'hang-ms': { type: 'string' } },
    allowPositionals: true,
  });
  const runs = Number(values.runs ?? process.env.FUZZ_RUNS ?? 1_000_000);
  const seed = Number(values.seed ?? process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const hangMs = Number(values['hang-ms'] ?? 30_000);
  if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed) || !(hangMs > 0)) throw new Error('--runs, --seed and --hang-ms take positive integers');
  const all = targetFiles(path.join(HERE, 'targets'));
  const files = positionals.length === 0 ? all : positionals.map((name) => {
    const f = all.find((x) => path.basename(x, path.extname(x)) === name);
    if (f === undefined) throw new Error(`no fuzz target '${name}' (have ${all.map((x) => path.basename(x, path.extname(x))).join(', ')})`);
    return f;
  });
  const outDir = path.resolve(HERE, '..', '..', '..', '..', '.cache', 'fuzz');
  mkdirSync(outDir, { recursive: true });
  let bad = 0;
  for (const file of files) {
    const r = await fuzzOne(file, runs, seed, hangMs);
    writeFileSync(path.join(outDir, `${r.target}.json`), JSON.stringify(r, null, 2));
    process.stdout.write(`${r.target}: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${r.inputsPerSecond.toFixed(0)}/s), ${r.crashes} crashes, ${r.hangs} hangs (${r.skipped} skipped after them), seed ${r.seed}\n`);
    for (const f of r.failures.slice(0, 5)) process.stdout.write(`  batch ${f.batch} index ${f.index}: ${f.error.split('\n')[0]}\n    input: ${f.input.slice(0, 300)}\n`);
    bad += r.crashes + r.hangs;
  }
  return bad === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
