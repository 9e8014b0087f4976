/**
 * Whole pipelines on real captures, with the output read back by tshark, an independent reader:
 * packet counts, every TTL decremented by one, every IPv4 header checksum valid.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { PCAP_DIR, tsharkOrFail } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';

const quiet = { info: () => undefined, warn: () => undefined };

function tshark(args: string[]): string[] {
  const r = spawnSync('tshark', ['-n', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

async function runConfig(text: string): Promise<Router> {
  const r = Router.fromText(text, path.join(os.tmpdir(), 'pipeline.click'), elementLibrary, { log: quiet, batchSize: 64 });
  await r.initialize();
  const summary = await r.run();
  await r.cleanup();
  expectBalanced(r);
  expectBalanced(summary);
  return r;
}

const ROUTER = (input: string, output: string): string => `
  src :: FromDump(FILE "${input}", STOP true);
  cls :: Classifier(12/0800, -);
  chk :: CheckIPHeader;
  ttl :: DecIPTTL;
  src -> cls;
  cls[0] -> Strip(14) -> chk -> ttl -> Unstrip(14) -> out :: ToDump(FILE "${output}");
  cls[1] -> other :: Discard;
  ttl[1] -> expired :: Discard;`;

describe('router pipeline read back by tshark', () => {
  const captures = ['pcapplusplus/example.pcap', 'pcapplusplus/VlanPackets.pcap', 'tcpdump/dns_tcp.pcap', 'pcapplusplus/three_http_streams.pcap'];
  for (const cap of captures) {
    it(`routes ${cap}: counts, TTL-1 and valid checksums`, async () => {
      if (!tsharkOrFail()) return;
      const input = path.join(PCAP_DIR, cap);
      const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-pipe-')), 'out.pcap');
      const r = await runConfig(ROUTER(input, output));
      // What tshark sees in the input: Ethernet+IPv4 packets (no VLAN tag) with TTL > 1.
      const inTtl = tshark(['-r', input, '-T', 'fields', '-e', 'eth.type', '-e', 'ip.ttl', '-e', 'ip.id'])
        .map((l) => l.split('\t'))
        .filter((f) => f[0] === '0x0800' && !f[1].includes(','))
        .map((f) => ({ ttl: Number(f[1]), id: f[2] }));
      const routed = inTtl.filter((p) => p.ttl > 1);
      const outTtl = tshark(['-r', output, '-T', 'fields', '-e', 'ip.ttl', '-e', 'ip.id']).map((l) => l.split('\t'));
      expect(outTtl.length).toBe(routed.length);
      expect(outTtl.map((f) => Number(f[0]))).toEqual(routed.map((p) => p.ttl - 1));
      expect(outTtl.map((f) => f[1])).toEqual(routed.map((p) => p.id));
      const status = tshark(['-r', output, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.checksum.status']);
      expect(status.length).toBe(routed.length);
      expect(status.every((s) => s === '1')).toBe(true); // 1 = Good in tshark's checksum status
      const handler = (h: string): string => String(r.handler(h).read!());
      expect(Number(handler('out.count'))).toBe(routed.length);
      expect(Number(handler('expired.count')) + Number(handler('out.count'))).toBe(Number(handler('chk.count')) - Number(handler('chk.drops')));
    });
  }

  it('counts and drops truncated headers without stopping the pipeline (peafowl captures)', async () => {
    if (!tsharkOrFail()) return;
    for (const name of ['truncated_ip', 'truncated_tcp', 'truncated_udp', 'truncated_icmp']) {
      const input = path.join(PCAP_DIR, 'peafowl', `${name}.pcap`);
      const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-trunc-')), 'out.pcap');
      const r = await runConfig(ROUTER(input, output));
      const total = tshark(['-r', input, '-T', 'fields', '-e', 'frame.number']).length;
      const read = (h: string): number => Number(r.handler(h).read!());
      expect(read('src.count')).toBe(total);
      // Every packet is accounted for: written, expired, dropped by the header check, or not IPv4.
      expect(read('out.count') + read('expired.count') + read('chk.drops') + read('other.count') + read('cls.drops')).toBe(total);
      const written = tshark(['-r', output, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.checksum.status']);
      expect(written.length).toBe(read('out.count'));
      expect(written.every((s) => s === '1')).toBe(true);
    }
  });
});
