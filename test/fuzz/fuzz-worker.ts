/**
 * One fuzz target in a worker thread, so the runner's watchdog can stop an input that hangs
 * (even a synchronous endless loop). Inputs come in batches of `fc.sample(arbitrary, { seed:
 * seed + batch })`, so (seed, batch, index) names any input for reproduction. Progress goes
 * into shared memory, crashes into messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { loadTarget } from './load-targets.js';
import { BATCH, DONE, INDEX, type CrashMessage, type WorkerJob } from './fuzz-worker-protocol.js';

async function main(): Promise<void> {
  const job = workerData as WorkerJob;
  const progress = new Int32Array(job.progress);
  const target = await loadTarget(job.file);
  for (let batch = job.firstBatch; Atomics.load(progress, DONE) < job.totalRuns; batch++) {
    const n = Math.min(job.batchSize, job.totalRuns - Atomics.load(progress, DONE));
    const inputs = fc.sample(target.arbitrary, { seed: job.seed + batch, numRuns: job.batchSize }).slice(0, n);
    Atomics.store(progress, BATCH, batch);
    for (let index = 0; index < inputs.length; index++) {
      Atomics.store(progress, INDEX, index);
      try {
        const r = target.check(inputs[index]);
        if (r !== undefined) await r;
      } catch (e) {
        const msg: CrashMessage = { kind: 'crash', batch, index, input: fc.stringify(inputs[index]).slice(0, 4000), error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
        parentPort!.postMessage(msg);
      }
      Atomics.add(progress, DONE, 1);
    }
  }
  await target.dispose?.();
  parentPort!.postMessage({ kind: 'done' });
}

void main().catch((e: unknown) => {
  parentPort!.postMessage({ kind: 'fatal', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
});
