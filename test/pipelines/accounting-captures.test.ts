/**
 * Every packet accounted for on every real capture in ../shared/data/pcaps (truncated records,
 * bad checksums, VLAN, raw IP, pcapng, IPv6, fragments): two routers that between them use
 * every element of the library that moves packets, run with a small batch so batches split,
 * merge and queue; each element's books must balance. The `accounting` handler is read over
 * the control socket as a client would.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { ControlServer, parseControlAddress } from '../../app/control/control-server.js';
import { ControlClient } from '../../app/control/control-client.js';
import { sharedCaptures } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';

const quiet = { info: () => undefined, warn: () => undefined };

/** Header checks and routing with every drop path reachable: no route, expired, bad headers, non-IP. */
const ROUTER = (input: string, output: string): string => `
  src :: FromDump(FILE "${input}", STOP true) -> rx :: Counter -> t :: Tee(2);
  t[0] -> cls :: Classifier(12/0800, 12/8100) -> Strip(14) -> chk :: CheckIPHeader -> rt :: IPLookup(0.0.0.0/1 0, 128.0.0.0/2 1);
  cls[1] -> vlan :: Discard;
  rt[0] -> ttl :: DecIPTTL; rt[1] -> ttl;
  ttl[0] -> Unstrip(14) -> out :: ToDump(FILE "${output}");
  ttl[1] -> EtherEncap(0x0800, 02:00:00:00:00:01, 02:00:00:00:00:02) -> expired :: Discard;
  t[1] -> fh :: FlowHash(OFFSET 14) -> q :: Queue(40, BURST 24) -> Paint(3) -> Print(ACTIVE false) -> Discard;
  fh[1] -> Strip(14) -> chk2 :: CheckIPHeader -> DecIPTTL -> Discard;
  chk2[1] -> bad :: Discard;`;

async function runOn(capture: string, dir: string): Promise<Router> {
  const r = Router.fromText(ROUTER(capture, path.join(dir, `${path.basename(capture)}.out.pcap`)), path.join(dir, 'acct.click'), elementLibrary, { log: quiet, batchSize: 32, maxInFlight: 4 });
  await r.initialize();
  try {
    const s = await r.run();
    expectBalanced(s);
  } finally {
    await r.cleanup();
  }
  return r;
}

describe('accounting on the shared captures', () => {
  it('every element balances on every capture', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-acct-'));
    const captures = sharedCaptures();
    expect(captures.length).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (const cap of captures) {
      const r = await runOn(cap, dir);
      expectBalanced(r);
      for (const a of r.accounting()) for (const k of Object.keys(a.dropped)) seen.add(`${a.name}.${k}`);
    }
    // The captures do reach the drop paths, so the books above were tested where it matters.
    expect([...seen].sort()).toEqual(expect.arrayContaining(['cls.no_match', 'rt.no_route', 'q.queue_full']));
  });

  it('serves each element\'s books through the accounting handler over the control socket', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-acct-'));
    const r = await runOn(sharedCaptures().find((c) => c.endsWith('truncated_ip.pcap'))!, dir);
    const server = new ControlServer(r);
    const client = await ControlClient.connect(parseControlAddress(await server.listen(parseControlAddress('0'))));
    try {
      const reply = await client.read('chk.accounting');
      expect(reply.code).toBe(200);
      const chk = r.accounting().find((a) => a.name === 'chk')!;
      expect(reply.data).toMatch(new RegExp(`^in ${chk.in[0]}\nout ${chk.out[0]}\ndropped( \\w+=\\d+)+\nconsumed -\nheld 0\nbalanced yes\n$`));
      expect(Object.values(chk.dropped).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect((await client.list()).data).toMatch(/^chk\.accounting r$/m);
    } finally {
      client.close();
      await server.close();
    }
  });
});
