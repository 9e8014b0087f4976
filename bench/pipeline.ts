/**
 * The router pipeline on one core, reading a 1.5 M-packet capture from a file (the shared
 * example.pcap repeated), against `FromDump -> Discard` on the same file in the same run.
 * Click's userlevel driver on these machines (from the issue): ~5.0 Mpps for FromDump -> Discard
 * and ~4.5 Mpps for a Strip/CheckIPHeader/lookup/DecIPTTL router on exactly that input.
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Router } from '../core/router.js';
import { elementLibrary } from '../elements/index.js';
import type { BenchReport } from './report.js';
import { sharedData, projectRoot } from './paths.js';

const TARGET_PACKETS = 1_500_000;
const CLICK_DISCARD_PPS = 5.0e6;
const CLICK_ROUTER_PPS = 4.5e6;

/** example.pcap's records repeated until TARGET_PACKETS, written once and reused (bench/out is not in git). */
export function bigCapture(): { file: string; packets: number; copies: number } {
  const src = sharedData('pcaps/pcapplusplus/example.pcap');
  const bytes = readFileSync(src);
  const body = bytes.subarray(24);
  let perCopy = 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dv.getUint32(0, true) === 0xa1b2c3d4;
  for (let off = 24; off + 16 <= bytes.length; ) {
    off += 16 + dv.getUint32(off + 8, le);
    perCopy++;
  }
  const copies = Math.ceil(TARGET_PACKETS / perCopy);
  const dir = path.join(projectRoot(), 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `example-x${copies}.pcap`);
  const size = 24 + copies * body.length;
  if (!existsSync(file) || statSync(file).size !== size) {
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, bytes.subarray(0, 24));
      for (let i = 0; i < copies; i++) writeSync(fd, body);
    } finally {
      closeSync(fd);
    }
  }
  return { file, packets: copies * perCopy, copies };
}

async function runConfig(text: string, batchSize: number): Promise<{ pps: number; packets: number; ms: number }> {
  const r = Router.fromText(text, path.join(projectRoot(), 'bench', 'pipeline.click'), elementLibrary, {
    batchSize,
    maxInFlight: 8,
    log: { info: () => undefined, warn: (m) => process.stderr.write(`warning: ${m}\n`) },
  });
  await r.initialize();
  const s = await r.run();
  await r.cleanup();
  return { pps: s.packetsPerSecond, packets: s.packetsIn, ms: s.elapsedMs };
}

export async function run(report: BenchReport): Promise<void> {
  const sec = report.section('pipeline: router vs FromDump -> Discard, one core');
  const big = bigCapture();
  const table = sharedData('routes/bart-prefixes-2023.txt.gz');
  report.note(sec, `input ${path.basename(big.file)}: ${big.packets} packets, ${(statSync(big.file).size / 2 ** 20).toFixed(0)} MiB; routes: full 2023 table (901,899 prefixes, synthetic next hops)`);
  const batch = 1024;
  const discard = `FromDump(FILE "${big.file}", STOP true) -> Discard;`;
  const router = `FromDump(FILE "${big.file}", STOP true) -> Strip(14) -> CheckIPHeader -> IPLookup(FIB "${table}") -> DecIPTTL -> Discard;`;
  // Warm-up pass over a prefix of the file, so both rows run on optimized code.
  await runConfig(`FromDump(FILE "${big.file}", END_AFTER 200000) -> Strip(14) -> CheckIPHeader -> IPLookup(FIB "${table}") -> DecIPTTL -> Discard;`, batch);
  const base = await runConfig(discard, batch);
  report.add(sec, { name: 'FromDump -> Discard', value: base.pps, unit: 'pkt/s', extra: { packets: base.packets, seconds: base.ms / 1000, vsClick: base.pps / CLICK_DISCARD_PPS } });
  const rt = await runConfig(router, batch);
  report.add(sec, {
    name: 'Strip/CheckIPHeader/IPLookup/DecIPTTL router',
    value: rt.pps,
    unit: 'pkt/s',
    baseline: 'FromDump -> Discard',
    extra: { packets: rt.packets, seconds: rt.ms / 1000, vsClick: rt.pps / CLICK_ROUTER_PPS },
  });
  // The same packets from the 3.7 MB capture replayed in memory (REPEAT): what the pipeline costs
  // once reading 1.2 GB through read(2) (Click maps the file instead) is out of the way.
  const small = sharedData('pcaps/pcapplusplus/example.pcap');
  const copies = big.copies;
  const replayBase = await runConfig(`FromDump(FILE "${small}", REPEAT ${copies}) -> Discard;`, batch);
  report.add(sec, { name: 'replayed in memory: FromDump -> Discard', value: replayBase.pps, unit: 'pkt/s', baseline: 'FromDump -> Discard', extra: { packets: replayBase.packets } });
  const replayRt = await runConfig(`FromDump(FILE "${small}", REPEAT ${copies}) -> Strip(14) -> CheckIPHeader -> IPLookup(FIB "${table}") -> DecIPTTL -> Discard;`, batch);
  report.add(sec, { name: 'replayed in memory: router', value: replayRt.pps, unit: 'pkt/s', baseline: 'replayed in memory: FromDump -> Discard', extra: { packets: replayRt.packets, vsClick: replayRt.pps / CLICK_ROUTER_PPS } });
  report.note(sec, `vs Click userlevel on these machines: FromDump->Discard ${(base.pps / CLICK_DISCARD_PPS).toFixed(2)}x of 5.0 Mpps, router ${(rt.pps / CLICK_ROUTER_PPS).toFixed(2)}x of 4.5 Mpps (batch ${batch})`);
}
