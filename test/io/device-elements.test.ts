/**
 * FromDevice and ToDevice inside a running Router, on a veth pair in namespaces the test makes
 * and removes: a burst larger than FromDevice's ring is accounted for exactly (count +
 * kernel_drops = sent), LIMIT ends a live run by itself and FORCE_IP counts what it drops, a
 * full interface queue under ToDevice is counted (count + drops_queue_full = packets in), and
 * the errors for a missing interface or namespace name them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Router } from '../../core/router.js';
import { TxSocket } from '../../core/io/packet-ring.js';
import { elementLibrary } from '../../elements/index.js';
import { NetnsLab } from '../../scripts/netns-lab.js';
import { arenaOf, describeLive, udpFrame } from './live-support.js';

const MAC_A = '02:00:00:00:0a:01';
const MAC_B = '02:00:00:00:0b:01';
const quiet = { info: () => {}, warn: () => {} };

function frames(n: number, frameLength: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => udpFrame({ dstMac: MAC_B, srcMac: MAC_A, src: [10, 1, 0, 2], dst: [10, 2, 0, 2], sport: 5000, dport: 9, id: i, frameLength }));
}

function send(tx: TxSocket, list: Uint8Array[]): number {
  const { data, offsets, lengths } = arenaOf(list);
  let sent = 0;
  for (let i = 0; i < list.length; i += 100) sent += tx.send(data, offsets, lengths, i, Math.min(100, list.length - i)).sent;
  return sent;
}

function num(r: Router, h: string): number {
  return Number(r.handler(h).read!());
}

describeLive('FromDevice and ToDevice in a router', () => {
  let lab: NetnsLab;
  let nsA = '';
  let nsB = '';
  beforeAll(() => {
    lab = new NetnsLab('dev');
    nsA = lab.addNamespace('a');
    nsB = lab.addNamespace('b');
    lab.veth(nsA, 'a0', MAC_A, nsB, 'b0', MAC_B);
  });
  afterAll(() => lab?.cleanup());

  it('a burst larger than the ring: count + kernel_drops = sent, exactly', async () => {
    const r = Router.fromText(`src :: FromDevice(b0, NETNS ${nsB}, BLOCKS 2, BLOCK_SIZE 4096) -> c :: Counter -> Discard;`, 'burst.click', elementLibrary, { log: quiet });
    const tx = new TxSocket('test', 'a0', { netns: nsA });
    try {
      await r.initialize();
      // The ring is open and nothing reads it yet: 3000 frames overflow its two blocks.
      const sent = send(tx, frames(3000, 128));
      expect(sent).toBe(3000);
      const run = r.run();
      const deadline = Date.now() + 60_000;
      while (num(r, 'src.count') + num(r, 'src.kernel_drops') < sent && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      r.handler('src.stop').write!('');
      const summary = await run;
      const count = num(r, 'src.count');
      const drops = num(r, 'src.kernel_drops');
      expect(drops).toBeGreaterThan(0);
      expect(num(r, 'src.ring_freezes')).toBeGreaterThan(0);
      expect(count + drops).toBe(sent);
      expect(num(r, 'src.kernel_packets')).toBe(sent);
      expect(num(r, 'c.count')).toBe(count);
      expect(summary.packetsIn).toBe(count);
    } finally {
      tx.close();
      await r.cleanup();
    }
  });

  it('LIMIT ends a live run by itself; FORCE_IP drops and counts non-IP frames', async () => {
    const r = Router.fromText(`src :: FromDevice(b0, NETNS ${nsB}, FORCE_IP true, LIMIT 15) -> c :: Counter -> Discard;`, 'limit.click', elementLibrary, { log: quiet });
    const tx = new TxSocket('test', 'a0', { netns: nsA });
    try {
      await r.initialize();
      const nonIp = frames(5, 64).map((f) => {
        f[12] = 0x88;
        f[13] = 0xb5;
        return f;
      });
      expect(send(tx, [...nonIp, ...frames(20, 64)])).toBe(25);
      const summary = await r.run();
      expect(summary.packetsIn).toBe(15);
      expect(num(r, 'src.count')).toBe(15);
      expect(num(r, 'src.non_ip')).toBe(5);
      expect(num(r, 'c.count')).toBe(15);
    } finally {
      tx.close();
      await r.cleanup();
    }
  });

  it('ToDevice: a full interface queue is counted (count + drops_queue_full = packets in), never silent', async () => {
    // b0 sends back through a token bucket of 100 kbit/s with a 3000-byte queue: most of 300
    // frames of 1000 bytes, sent in batches, find it full.
    lab.exec(nsB, 'tc', 'qdisc', 'replace', 'dev', 'b0', 'root', 'tbf', 'rate', '100kbit', 'burst', '2000', 'limit', '3000');
    const r = Router.fromText(`src :: FromDevice(b0, NETNS ${nsB}, LIMIT 300) -> out :: ToDevice(b0, NETNS ${nsB});`, 'tx.click', elementLibrary, { log: quiet });
    const tx = new TxSocket('test', 'a0', { netns: nsA });
    try {
      await r.initialize();
      expect(send(tx, frames(300, 1000))).toBe(300);
      await r.run();
      const count = num(r, 'out.count');
      const full = num(r, 'out.drops_queue_full');
      expect(full).toBeGreaterThan(0);
      expect(count).toBeGreaterThan(0);
      expect(count + full + num(r, 'out.drops_other') + num(r, 'out.drops_down') + num(r, 'out.drops_too_big')).toBe(300);
      expect(num(r, 'out.drops_other')).toBe(0);
    } finally {
      tx.close();
      await r.cleanup();
      lab.exec(nsB, 'tc', 'qdisc', 'del', 'dev', 'b0', 'root');
    }
  });

  it('names a missing interface and a missing namespace', async () => {
    const r = Router.fromText(`FromDevice(nosuch0, NETNS ${nsB}) -> Discard;`, 'x.click', elementLibrary, { log: quiet });
    await expect(r.initialize()).rejects.toThrow(`no interface 'nosuch0' in network namespace '${nsB}'`);
    const r2 = Router.fromText(`Idle -> ToDevice(b0, NETNS ${nsB}-gone);`, 'x.click', elementLibrary, { log: quiet });
    await expect(r2.initialize()).rejects.toThrow(`no network namespace '${nsB}-gone'`);
  });
});
