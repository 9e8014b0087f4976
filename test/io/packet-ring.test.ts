/**
 * The packet_ring addon on a real veth pair in two network namespaces the test makes and
 * removes: frames sent with one sendmmsg arrive byte for byte in the mapped ring; a burst
 * larger than the ring is accounted for exactly (received + kernel drops = sent); a fanout
 * group splits flows between its sockets without losing or sharing any; and without
 * CAP_NET_RAW the error names the capability.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BlockPackets, RxRing, TxSocket, type RxRingOptions } from '../../core/io/packet-ring.js';
import { NetnsLab } from '../../scripts/netns-lab.js';
import { arenaOf, describeLive, udpFrame } from './live-support.js';

const MAC_A = '02:00:00:00:0a:01';
const MAC_B = '02:00:00:00:0b:01';

function frames(n: number, frameLength: number, flows = 1): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    udpFrame({ dstMac: MAC_B, srcMac: MAC_A, src: [10, 1, 0, 2], dst: [10, 2, 0, 2], sport: 5000 + (i % flows), dport: 9, id: i, frameLength }),
  );
}

const ringOpts = (ns: string, over: Partial<RxRingOptions> = {}): RxRingOptions => ({
  netns: ns,
  blockSize: 1 << 16,
  blockCount: 8,
  retireMs: 1,
  outgoing: false,
  snaplen: 0,
  ...over,
});

/** Read every ready block; returns the packets' bytes and releases the blocks. */
function drain(ring: RxRing, into: Uint8Array[]): void {
  let blk = new BlockPackets(64);
  for (let b = ring.nextBlock(); b >= 0; b = ring.nextBlock()) {
    blk = ring.readBlock(b, blk);
    for (let k = 0; k < blk.count; k++) into.push(ring.bytes.slice(blk.mac[k], blk.mac[k] + blk.snaplen[k]));
    ring.releaseBlock(b);
  }
}

/** Drain until `done` holds, waiting for readability in between (the guard only reports a hang). */
async function drainUntil(ring: RxRing, into: Uint8Array[], done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    drain(ring, into);
    if (done()) return;
    if (Date.now() > deadline) throw new Error(`${what}: still waiting after 30 s (received ${into.length}, stats ${JSON.stringify(ring.stats())})`);
    await Promise.race([ring.waitReadable(), new Promise((r) => setTimeout(r, 200))]);
  }
}

describeLive('packet_ring on a veth pair', () => {
  let lab: NetnsLab;
  let nsA = '';
  let nsB = '';
  beforeAll(() => {
    lab = new NetnsLab('ring');
    nsA = lab.addNamespace('a');
    nsB = lab.addNamespace('b');
    lab.veth(nsA, 'a0', MAC_A, nsB, 'b0', MAC_B);
  });
  afterAll(() => lab?.cleanup());

  it('sends a batch in one system call and receives it byte for byte, zero copy from the ring', async () => {
    const rx = new RxRing('test', 'b0', ringOpts(nsB));
    const tx = new TxSocket('test', 'a0', { netns: nsA });
    try {
      expect([...tx.mac].map((x) => x.toString(16).padStart(2, '0')).join(':')).toBe(MAC_A);
      const sent = frames(200, 100).concat(frames(50, 1514));
      const { data, offsets, lengths } = arenaOf(sent);
      const r = tx.send(data, offsets, lengths, 0, sent.length);
      expect(r).toEqual({ sent: sent.length, error: '' });
      const got: Uint8Array[] = [];
      await drainUntil(rx, got, () => got.length >= sent.length, 'receive');
      expect(got.length).toBe(sent.length);
      for (let i = 0; i < sent.length; i++) expect(got[i]).toEqual(sent[i]);
      const st = rx.stats();
      expect(st.packets).toBe(sent.length);
      expect(st.drops).toBe(0);
    } finally {
      rx.close();
      tx.close();
    }
  });

  it('a burst larger than the ring: received + kernel drops = sent, exactly', async () => {
    // 2 blocks of 4 KiB hold a few dozen 128-byte frames; 3000 are sent before anything is read.
    const rx = new RxRing('test', 'b0', ringOpts(nsB, { blockSize: 4096, blockCount: 2 }));
    const tx = new TxSocket('test', 'a0', { netns: nsA });
    try {
      const sent = frames(3000, 128);
      const { data, offsets, lengths } = arenaOf(sent);
      let accepted = 0;
      for (let i = 0; i < sent.length; i += 100) accepted += tx.send(data, offsets, lengths, i, 100).sent;
      expect(accepted).toBe(sent.length);
      const got: Uint8Array[] = [];
      await drainUntil(rx, got, () => got.length + rx.stats().drops >= accepted, 'burst');
      const st = rx.stats();
      expect(st.drops).toBeGreaterThan(0);
      expect(st.freezes).toBeGreaterThan(0);
      expect(got.length + st.drops).toBe(accepted);
      expect(st.packets).toBe(accepted);
      // What did arrive is in order and intact: a subsequence of what was sent.
      let j = 0;
      for (const g of got) {
        while (j < sent.length && !sameBytes(sent[j], g)) j++;
        expect(j).toBeLessThan(sent.length);
        j++;
      }
      expect(lab.counter(nsA, 'a0', 'tx_dropped')).toBe(0);
    } finally {
      rx.close();
      tx.close();
    }
  });

  it('PACKET_FANOUT hash: two queues share the flows, each flow whole on one queue', async () => {
    const q0 = new RxRing('test', 'b0', ringOpts(nsB, { fanout: { group: 77, mode: 'hash' } }));
    const q1 = new RxRing('test', 'b0', ringOpts(nsB, { fanout: { group: 77, mode: 'hash' } }));
    const tx = new TxSocket('test', 'a0', { netns: nsA });
    try {
      const sent = frames(640, 80, 64);
      const { data, offsets, lengths } = arenaOf(sent);
      expect(tx.send(data, offsets, lengths, 0, sent.length).sent).toBe(sent.length);
      const g0: Uint8Array[] = [];
      const g1: Uint8Array[] = [];
      const deadline = Date.now() + 30_000;
      while (g0.length + g1.length < sent.length && Date.now() < deadline) {
        drain(q0, g0);
        drain(q1, g1);
        if (g0.length + g1.length < sent.length) await Promise.race([q0.waitReadable(), q1.waitReadable(), new Promise((r) => setTimeout(r, 200))]);
      }
      expect(g0.length + g1.length).toBe(sent.length);
      expect(g0.length).toBeGreaterThan(0);
      expect(g1.length).toBeGreaterThan(0);
      const port = (f: Uint8Array): number => (f[34] << 8) | f[35];
      const ports0 = new Set(g0.map(port));
      for (const f of g1) expect(ports0.has(port(f))).toBe(false);
    } finally {
      q0.close();
      q1.close();
      tx.close();
    }
  });

  it('without CAP_NET_RAW the error names the capability', () => {
    // The built module (npm test builds first): a plain node child cannot load TypeScript.
    const mod = path.resolve(import.meta.dirname, '../../dist/core/io/packet-ring.js');
    const script = `import(${JSON.stringify(mod)}).then((m) => { try { new m.TxSocket('ToDevice@1', 'lo'); console.log('opened'); } catch (e) { console.log(e.message); } })`;
    const r = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-net_raw,-net_admin', '--', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    expect(out).toMatch(/ToDevice@1: socket\(AF_PACKET, SOCK_RAW\) on lo: Operation not permitted: opening a raw packet socket needs the CAP_NET_RAW capability/);
  });

  it('hetbox check of the live router needs no capability (nothing is opened)', () => {
    const cli = path.resolve(import.meta.dirname, '../../dist/app/cli/hetbox.js');
    const example = path.resolve(import.meta.dirname, '../../examples/live-router.click');
    const r = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-net_raw,-net_admin,-sys_admin', '--', process.execPath, cli, 'check', example], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/live-router\.click: OK/);
  });
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
