/**
 * The flow elements in a configuration, as `hetbox run` builds it: FromDump -> IPReassembler ->
 * FlowIPManager -> IPRewriter -> ToDump, with handlers read through the router and the output
 * read back by tshark (every forward packet from the public address, checksums as valid as in).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { PCAP_DIR, tsharkOrFail } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';

const quiet = { info: () => undefined, warn: () => undefined };

describe('flow elements in a configuration', () => {
  it('reassembles, classifies and NATs frag_http_req.pcap + example.pcap; handlers account for every packet', async () => {
    if (!tsharkOrFail()) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-flows-'));
    const out = path.join(dir, 'out.pcap');
    const back = path.join(dir, 'back.pcap');
    const text = `
      src :: FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/frag_http_req.pcap')}", STOP true);
      frag :: IPReassembler;
      fm :: FlowIPManager(CAPACITY 1000);
      nat :: IPRewriter(pattern 192.0.2.1 20000-29999 - - 0 1);
      src -> frag -> fm -> nat;
      nat[0] -> ToDump(FILE "${out}");
      nat[1] -> ToDump(FILE "${back}");`;
    const r = Router.fromText(text, path.join(dir, 'nat.click'), elementLibrary, { log: quiet, batchSize: 4 });
    await r.initialize();
    await r.run();
    const read = (h: string): number => Number(r.handler(h).read!());
    expect(read('frag.datagrams')).toBe(1);
    expect(read('frag.consumed')).toBe(11);
    expect(read('fm.lookups')).toBe(2); // the reassembled datagram and its alias insert
    expect(read('fm.size')).toBe(2);
    expect(read('nat.mappings')).toBe(1);
    expect(read('nat.forward')).toBe(1);
    expectBalanced(r);
    await r.cleanup();
    const fields = execFileSync('tshark', ['-r', out, '-n', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'http.request.uri'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\t');
    expect(fields[0]).toBe('192.0.2.1');
    expect(Number(fields[1])).toBeGreaterThanOrEqual(20000);
    expect(fields[2]).toBe('1');
    expect(fields[3]).toBe('1');
    expect(fields[4]).toBe('/convert_data.js?partner_id=29');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every packet a flow element drops is in its books: a full table, untracked packets, a drop spec', async () => {
    const text = `
      src :: FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/example.pcap')}", STOP true);
      frag :: IPReassembler;
      fm :: FlowIPManager(CAPACITY 4, POLICY drop);
      lb :: FlowIPLoadBalancer(VIP 10.0.0.1, BACKENDS "10.0.1.1");
      nat :: IPRewriter(drop);
      src -> frag -> fm -> lb -> nat -> Discard;`;
    const r = Router.fromText(text, 'drops.click', elementLibrary, { log: quiet, batchSize: 16 });
    await r.initialize();
    await r.run();
    const read = (h: string): number => Number(r.handler(h).read!());
    expect(read('fm.drops')).toBeGreaterThan(0);
    expect(read('nat.drops_spec')).toBeGreaterThan(0);
    expectBalanced(r);
    await r.cleanup();
  });
});
