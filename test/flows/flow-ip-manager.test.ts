import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { FlowIPManager } from '../../elements/flow-ip-manager.js';
import { communityId } from '../../core/flows/community-id.js';
import { E_KEY } from '../../core/structures/flow-table/flow-table-image.js';
import { PCAP_DIR, readBatches, tsharkOrFail } from '../pcap/pcap-test-support.js';
import { make, testEnv } from '../elements/helpers.js';

/** tshark's Community-ID of every packet (empty for packets it gives none). */
function tsharkCommunityIds(file: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-n', '--enable-protocol', 'communityid', '-T', 'fields', '-e', 'communityid'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.toString().split('\n').slice(0, -1);
}

/** Timeouts longer than any capture spans: every flow stays one flow. */
const LONG = ['TIMEOUT_TCP', 'TIMEOUT_TCP_HANDSHAKE', 'TIMEOUT_TCP_CLOSED', 'TIMEOUT_UDP', 'TIMEOUT_OTHER'].map((k) => `${k} 31536000`);

const captures = ['pcapplusplus/example.pcap', 'pcapplusplus/three_http_streams.pcap', 'pcapplusplus/DnsPackets.pcap', 'pcapplusplus/raw_ip.pcap', 'pcapplusplus/VlanPackets.pcap', 'community-id/pcaps/combined.pcap.gz'];

describe('FlowIPManager', () => {
  it.each(captures)('%s: one flow per Community-ID (tshark\'s), both directions, and the entry key hashes to it', (cap) => {
    if (!tsharkOrFail()) return;
    const file = path.join(PCAP_DIR, cap);
    const cids = tsharkCommunityIds(file);
    const fm = make(FlowIPManager, ['CAPACITY 100000', ...LONG]);
    fm.initialize();
    const flowOfCid = new Map<string, number>();
    const cidOfFlow = new Map<number, string>();
    let packets = 0;
    let tracked = 0;
    for (const b of readBatches(PcapReader.open(file))) {
      const [out] = fm.processInline(b);
      expect(out).toBe(b);
      const flow = b.anno('flow');
      for (let i = 0; i < b.count; i++) {
        const cid = cids[packets++];
        if (flow[i] < 0) {
          expect(cid, `packet ${b.id[i]} untracked`).toBe('');
          continue;
        }
        if (cid === '') continue; // tshark gives no Community-ID to e.g. fragments it reassembled
        tracked++;
        const ours = communityId(fm.table.image, fm.table.base(flow[i]) + E_KEY);
        expect(ours, `packet ${b.id[i]}`).toBe(cid);
        expect(flowOfCid.get(cid) ?? flow[i], `packet ${b.id[i]}`).toBe(flow[i]);
        expect(cidOfFlow.get(flow[i]) ?? cid).toBe(cid);
        flowOfCid.set(cid, flow[i]);
        cidOfFlow.set(flow[i], cid);
      }
    }
    expect(packets).toBe(cids.length);
    expect(tracked).toBeGreaterThan(0);
    // Inserts, not size: raw_ip.pcap spans ten years, longer than any timeout, so some flows ended.
    expect(fm.table.counters.inserts).toBe(flowOfCid.size);
    expect(Number(fm.handlers().lookups.read!())).toBe(fm.table.counters.lookups);
  });

  it('marks direction: the first packet of a flow is its originator, answers are replies', () => {
    const fm = make(FlowIPManager, []);
    const [b] = readBatches(PcapReader.open(path.join(PCAP_DIR, 'pcapplusplus/three_http_streams.pcap')), 100000);
    fm.processInline(b);
    const flow = b.anno('flow');
    const dir = b.anno('flowdir');
    const seen = new Set<number>();
    let replies = 0;
    for (let i = 0; i < b.count; i++) {
      if (!seen.has(flow[i])) expect(dir[i]).toBe(0);
      seen.add(flow[i]);
      replies += dir[i];
    }
    expect(replies).toBeGreaterThan(0);
    expect(replies).toBeLessThan(b.count);
  });

  it('POLICY drop sends packets of new flows to output 1 when the table is full, and counts them', () => {
    const env = testEnv();
    const fm = make(FlowIPManager, ['CAPACITY 3', 'POLICY drop'], 2, env);
    const [b] = readBatches(PcapReader.open(path.join(PCAP_DIR, 'pcapplusplus/example.pcap')), 100000);
    const n = b.count;
    const [kept, dropped] = fm.processInline(b);
    expect(fm.table.counters.size).toBe(3);
    expect((kept?.count ?? 0) + (dropped?.count ?? 0)).toBe(n);
    expect(dropped!.count).toBe(fm.table.counters.drops_full);
    expect(Number(fm.handlers().drops.read!())).toBe(dropped!.count);
  });
});
