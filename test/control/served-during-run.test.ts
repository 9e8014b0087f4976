/**
 * The control path is served while a run is busy, whatever the input: a run served wholly from
 * memory (FromDump REPEAT, a gzip capture) chains only promises, and without the scheduler's
 * time-sliced yield a READ waited until the run ended. Here a READ is answered and `WRITE stop`
 * ends the run while the input is still far from its end (ordering, not timing).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Router } from '../../core/router.js';
import { ControlServer, parseControlAddress } from '../../app/control/control-server.js';
import { ControlClient } from '../../app/control/control-client.js';
import { elementLibrary } from '../../elements/index.js';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { PCAP_DIR, readBatches } from '../pcap/pcap-test-support.js';

const quiet = { info: () => undefined, warn: () => undefined };
const capture = path.join(PCAP_DIR, 'pcapplusplus/example.pcap');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-served-'));
const gz = path.join(tmp, 'example.pcap.gz');
fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(capture)));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const perPass = readBatches(PcapReader.open(capture)).reduce((s, b) => s + b.count, 0);
/** Passes enough that the whole input takes many seconds even when nothing else runs. */
const REPEAT = 4000;

describe('control requests during a run served from memory', () => {
  for (const [what, file] of [
    ['FromDump REPEAT', capture],
    ['a gzip capture with REPEAT', gz],
  ] as const) {
    it(`answers READ and stops on WRITE stop (${what})`, async () => {
      const router = Router.fromText(`src :: FromDump(FILE "${file}", REPEAT ${REPEAT}) -> c :: Counter -> Strip(14) -> CheckIPHeader -> Discard;`, path.join(tmp, 'served.click'), elementLibrary, { log: quiet, batchSize: 256 });
      await router.initialize();
      const server = new ControlServer(router);
      const where = await server.listen(parseControlAddress('0'));
      const client = await ControlClient.connect(parseControlAddress(where));
      let ended = false;
      const firstBatch = new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if ((router.stats?.batches ?? 0) > 0) (clearInterval(timer), resolve());
        }, 1);
      });
      const running = router.run().then((s) => ((ended = true), s));
      try {
        // A timer got its turn while the run was going (the run has not ended).
        await firstBatch;
        expect(ended).toBe(false);
        const read = await client.read('c.count');
        expect(read.code).toBe(200);
        expect(ended).toBe(false);
        const counted = Number(read.data);
        expect(counted).toBeGreaterThan(0);
        expect(counted).toBeLessThan(perPass * REPEAT);
        const stop = await client.write('stop', '');
        expect(stop.code).toBe(200);
        const summary = await running;
        // The run ended on the stop, long before its input did.
        expect(summary.packetsIn).toBeLessThan(perPass * REPEAT);
        expect(summary.packetsIn).toBeGreaterThanOrEqual(counted);
        const c = summary.elements.find((e) => e.name === 'c');
        expect(c?.counters.count).toBe(summary.packetsIn);
      } finally {
        client.close();
        await server.close();
        await running;
        await router.cleanup();
      }
    }, 120_000);
  }
});
