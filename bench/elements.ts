/**
 * Bench section "elements": the CPU element library on real packets (example.pcap, 4,631
 * Ethernet/IPv4 packets in batches of 1,024), one element at a time and as the
 * Strip -> CheckIPHeader -> DecIPTTL pipeline a router runs before its lookup; IPLookup and
 * FlowHash without BACKEND (their kernels' inline cpu forms).
 *
 * Elements edit in place (windows, TTL, checksum), so every timed pass first restores the
 * offset/length columns and the four TTL/checksum bytes of each frame from a saved copy (the
 * only state the timed chains write). The restore is timed on its own and subtracted;
 * `with_restore` shows the undivided figure. Baseline: the Strip -> CheckIPHeader -> DecIPTTL
 * pipeline, so each other row's ratio says how its cost compares with the router's front end.
 */
import path from 'node:path';
import type { BenchReport } from './report.js';
import { sharedData } from './paths.js';
import { measureRate } from './report.js';
import type { PacketBatch } from '../core/packet-batch.js';
import type { ConfigArgs } from '../core/config/args.js';
import type { Element, ElementClass } from '../core/element.js';
import type { RuntimeEnv } from '../core/runtime-env.js';
import { PcapReader } from '../core/pcap/pcap-reader.js';
import { Strip } from '../elements/strip.js';
import { CheckIPHeader } from '../elements/check-ip-header.js';
import { DecIPTTL } from '../elements/dec-ip-ttl.js';
import { Classifier } from '../elements/classifier.js';
import { Counter } from '../elements/counter.js';
import { IPLookup } from '../elements/ip-lookup.js';
import { FlowHash } from '../elements/flow-hash.js';
import { classifyBatch, compileClassifier } from '../elements/lib/classifier-program.js';

/** The Classifier's matching loop alone, to separate it from PacketBatch.split's copying. */
class ClassifyOnly {
  private readonly program = compileClassifier(['12/0800 23/06', '12/0800 23/11', '-']);
  private ports = new Int32Array(BATCH);
  process(b: PacketBatch): (PacketBatch | null)[] {
    classifyBatch(this.program, b.data, b.offset, b.length, b.count, this.ports);
    return [b];
  }
}

const BATCH = 1024;

const env: RuntimeEnv = {
  baseDir: '.',
  log: { info: () => {}, warn: () => {} },
  strictBackends: false,
  backend: () => Promise.reject(new Error('the elements bench uses no backend')),
};

function configArgs(raw: string[]): ConfigArgs {
  const loc = { file: 'bench', line: 1, column: 1 };
  return { loc, list: raw.map((r) => ({ raw: r, value: r, loc })) };
}

function element<C>(cls: ElementClass<C>, raw: string[], noutputs = 1): Element<C> {
  return new cls({ name: cls.className, config: cls.parseConfig(configArgs(raw)), env, ninputs: 1, noutputs });
}

interface Saved {
  batch: PacketBatch;
  offset: Int32Array;
  length: Int32Array;
  /** Bytes 22..25 of each frame (IPv4 TTL, protocol, checksum): the only bytes the chains write. */
  ttlWords: Uint8Array;
  count: number;
}

function loadBatches(file: string): Saved[] {
  const reader = PcapReader.open(file);
  const out: Saved[] = [];
  try {
    for (let seq = 0; ; seq++) {
      const b = reader.nextBatch(seq, BATCH);
      if (b === null) break;
      const ttlWords = new Uint8Array(4 * b.count);
      for (let i = 0; i < b.count; i++) if (b.length[i] >= 26) ttlWords.set(b.data.subarray(b.offset[i] + 22, b.offset[i] + 26), 4 * i);
      out.push({ batch: b, offset: b.offset.slice(), length: b.length.slice(), ttlWords, count: b.count });
    }
  } finally {
    reader.close();
  }
  return out;
}

/** Undo what the timed chains did: windows, lengths, and the TTL/checksum bytes. */
function restore(saved: readonly Saved[]): void {
  for (const s of saved) {
    const b = s.batch;
    b.offset.set(s.offset);
    b.length.set(s.length);
    b.count = s.count;
    const d = b.data;
    const w = s.ttlWords;
    const off = s.offset;
    const len = s.length;
    for (let i = 0; i < s.count; i++) {
      if (len[i] < 26) continue;
      const p = off[i] + 22;
      d[p] = w[4 * i];
      d[p + 1] = w[4 * i + 1];
      d[p + 2] = w[4 * i + 2];
      d[p + 3] = w[4 * i + 3];
    }
  }
}

export async function run(report: BenchReport): Promise<void> {
  const section = report.section('elements: CPU element library on example.pcap (batch 1024)');
  const saved = loadBatches(sharedData('pcaps/pcapplusplus/example.pcap'));
  const packets = saved.reduce((s, b) => s + b.count, 0);

  // The machine may be shared: every figure is the best of ROUNDS short runs, and the rounds
  // of all rows are interleaved so a burst of load elsewhere does not land on one row only.
  const ROUNDS = 3;
  const PIPELINE = 'Strip(14) -> CheckIPHeader -> DecIPTTL';
  const cases: { name: string; chain: Pick<Element, 'process'>[] }[] = [
    { name: PIPELINE, chain: [element(Strip, ['14']), element(CheckIPHeader, []), element(DecIPTTL, [])] },
    { name: 'Strip(14)', chain: [element(Strip, ['14'])] },
    { name: 'Strip(14) -> CheckIPHeader', chain: [element(Strip, ['14']), element(CheckIPHeader, [])] },
    { name: 'Strip(14) -> DecIPTTL', chain: [element(Strip, ['14']), element(DecIPTTL, [])] },
    { name: 'Classifier(12/0800 23/06, 12/0800 23/11, -)', chain: [element(Classifier, ['12/0800 23/06', '12/0800 23/11', '-'], 3)] },
    { name: 'classifyBatch (kernel only, no split)', chain: [new ClassifyOnly()] },
    { name: 'Counter', chain: [element(Counter, [])] },
    // The kernels' inline cpu paths (no BACKEND): the same functions the cpu backend's forms run.
    { name: 'Strip(14) -> CheckIPHeader -> IPLookup(FIB mae-west)', chain: [element(Strip, ['14']), element(CheckIPHeader, []), element(IPLookup, [`FIB ${sharedData('routes/mae-west.txt')}`])] },
    { name: 'FlowHash(OFFSET 14)', chain: [element(FlowHash, ['OFFSET 14'])] },
  ];
  let bestRestoreMs = Infinity;
  const best = cases.map(() => ({ callMs: Infinity, rate: 0, calls: 0, forwarded: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    const r = await measureRate(() => restore(saved), packets, 200);
    bestRestoreMs = Math.min(bestRestoreMs, r.ms / r.calls);
    for (let k = 0; k < cases.length; k++) {
      const chain = cases[k].chain;
      let forwarded = 0;
      const pass = (): void => {
        restore(saved);
        forwarded = 0;
        for (const s of saved) {
          let b: PacketBatch | null = s.batch;
          for (const e of chain) {
            const out = e.process(b!, 0) as (PacketBatch | null)[];
            b = out[0] ?? null;
            if (b === null) break;
          }
          forwarded += b?.count ?? 0;
        }
      };
      const m = await measureRate(pass, packets, 300);
      const callMs = m.ms / m.calls;
      if (callMs < best[k].callMs) best[k] = { callMs, rate: m.rate, calls: m.calls, forwarded };
    }
  }
  cases.forEach((c, k) => {
    const b = best[k];
    report.add(section, {
      name: c.name,
      value: packets / ((b.callMs - bestRestoreMs) / 1000),
      unit: 'pkt/s',
      baseline: c.name === PIPELINE ? undefined : PIPELINE,
      extra: { with_restore: b.rate, forwarded: b.forwarded, packets, calls: b.calls },
    });
  });
  const restoreMs = bestRestoreMs;
  report.note(section, `restore of columns and TTL/checksum bytes: ${(restoreMs * 1000).toFixed(0)} us per pass of ${packets} packets, subtracted from every row`);
  report.note(section, 'target for the whole router pipeline (with the lookup): > 5M pkt/s on one core');
}
