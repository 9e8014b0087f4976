/**
 * examples/live-router.click end to end on veth pairs in network namespaces the test makes and
 * removes (traffic never leaves them): `hetbox run` in the router namespace between host A and
 * host B. Host A pings host B and sends crafted UDP frames, some of them bad on purpose; what
 * arrives at host B is captured there (an AF_PACKET ring opened before anything is sent) and
 * read back by tshark: every good packet arrives routed (TTL one less, IP and UDP checksums
 * valid, the router's and host B's Ethernet addresses), and every bad one is counted under its
 * reason in the run summary. Then the same configuration with FromDump/ToDump in place of the
 * devices, fed what host A sent, writes the same routed packets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BlockPackets, RxRing, TxSocket } from '../../core/io/packet-ring.js';
import { PcapWriter } from '../../core/pcap/pcap-writer.js';
import { buildRouterLab, LIVE, type RouterLab } from '../../scripts/live-router-lab.js';
import { batchOf, readPcap } from '../elements/helpers.js';
import { arenaOf, describeLive, udpFrame } from './live-support.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/app/cli/hetbox.js');
const EXAMPLE = path.join(ROOT, 'examples/live-router.click');

interface Summary {
  packetsIn: number;
  elements: { name: string; className: string; counters: Record<string, number> }[];
}

/** Collects every frame a ring receives, releasing blocks as it goes. */
class Capture {
  readonly frames: Uint8Array[] = [];
  private blk = new BlockPackets(64);
  private stopped = false;
  private readonly loop: Promise<void>;
  constructor(readonly ring: RxRing) {
    this.loop = this.run();
  }
  private async run(): Promise<void> {
    while (!this.stopped) {
      this.drain();
      await this.ring.waitReadable();
    }
  }
  drain(): void {
    for (let b = this.ring.nextBlock(); b >= 0; b = this.ring.nextBlock()) {
      this.blk = this.ring.readBlock(b, this.blk);
      for (let k = 0; k < this.blk.count; k++) this.frames.push(this.ring.bytes.slice(this.blk.mac[k], this.blk.mac[k] + this.blk.snaplen[k]));
      this.ring.releaseBlock(b);
    }
  }
  /** Wait (on events) until `n` frames are in; the deadline only turns a hang into a message. */
  async until(n: number, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (this.frames.length < n) {
      if (Date.now() > deadline) throw new Error(`${what}: ${this.frames.length} of ${n} frames after 60 s`);
      await new Promise((r) => setTimeout(r, 50));
      this.drain();
    }
  }
  async close(): Promise<void> {
    this.stopped = true;
    this.ring.close();
    await this.loop;
    this.drain();
  }
}

function writePcap(file: string, frames: readonly Uint8Array[]): void {
  const w = PcapWriter.open(file, { linkType: 1 });
  if (frames.length > 0) w.writeBatch(batchOf(frames as Uint8Array[], { linkType: 1 }));
  w.close();
}

function tshark(args: string[]): string[] {
  const r = spawnSync('tshark', ['-n', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

function counters(s: Summary, name: string): Record<string, number> {
  const e = s.elements.find((x) => x.name === name);
  if (e === undefined) throw new Error(`no element ${name} in the summary`);
  return e.counters;
}

/** Start `hetbox run` in the router namespace; resolves once its devices are open (control socket up). */
async function startRouter(t: RouterLab, dir: string): Promise<{ child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> }> {
  const sock = path.join(dir, 'control.sock');
  const child = spawn('ip', ['netns', 'exec', t.router, process.execPath, CLI, 'run', EXAMPLE, '--json', '--control', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('control socket listening')) resolve();
    });
    child.on('close', (code) => reject(new Error(`hetbox run exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, done };
}

describeLive('live router between two namespaces', () => {
  let t: RouterLab;
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hetbox-live-'));
    t = buildRouterLab('e2e');
  });
  afterAll(() => {
    t?.lab.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes ping and UDP from host A to host B, counts every drop by reason, and FromDump/ToDump give the same packets', async () => {
    const ring = (ns: string, outgoing: boolean): RxRing => new RxRing('capture', 'h0', { netns: ns, blockSize: 1 << 20, blockCount: 16, retireMs: 1, outgoing, snaplen: 0 });
    // What host A sends (its own outgoing frames) and what arrives at host B.
    const sentByA = new Capture(ring(t.hostA, true));
    const atB = new Capture(ring(t.hostB, false));
    const router = await startRouter(t, dir);
    let summary: Summary;
    const good: Uint8Array[] = [];
    try {
      // Crafted UDP to 10.2.0.3 (routed to host B's link, where no one answers) in sizes 60..1514.
      const frame = (i: number, over: { dst?: number[]; ttl?: number } = {}): Uint8Array =>
        udpFrame({ dstMac: LIVE.routerMacA, srcMac: LIVE.hostMacA, src: [10, 1, 0, 2], dst: over.dst ?? [10, 2, 0, 3], sport: 4000 + (i % 50), dport: 9, id: i, ttl: over.ttl ?? 64, frameLength: 60 + ((i * 37) % 1455) });
      for (let i = 0; i < 400; i++) good.push(frame(i));
      const badChecksum = [frame(1000), frame(1001), frame(1002)].map((f) => {
        f[24] ^= 0xff; // IP header checksum
        return f;
      });
      const expired = [frame(2000, { ttl: 1 }), frame(2001, { ttl: 1 })];
      const noRoute = [frame(3000, { dst: [192, 168, 7, 7] }), frame(3001, { dst: [172, 16, 0, 1] }), frame(3002, { dst: [8, 8, 8, 8] }), frame(3003, { dst: [9, 9, 9, 9] })];
      const nonIp = [frame(4000), frame(4001)].map((f) => {
        f[12] = 0x88;
        f[13] = 0xb5; // local experimental ethertype
        return f;
      });
      const all = [...good.slice(0, 200), ...badChecksum, ...expired, ...noRoute, ...nonIp, ...good.slice(200)];
      const tx = new TxSocket('hostA', 'h0', { netns: t.hostA });
      const { data, offsets, lengths } = arenaOf(all);
      let accepted = 0;
      for (let i = 0; i < all.length; i += 64) accepted += tx.send(data, offsets, lengths, i, Math.min(64, all.length - i)).sent;
      tx.close();
      expect(accepted).toBe(all.length);

      // Real ping through the router, both ways.
      const ping = spawnSync('ip', ['netns', 'exec', t.hostA, 'ping', '-n', '-c', '5', '-i', '0.2', '-W', '5', LIVE.hostIpB], { encoding: 'utf8' });
      expect(ping.stdout).toMatch(/5 packets transmitted, 5 received/);

      await atB.until(good.length + 5, 'frames at host B');
      await sentByA.until(all.length + 5, "host A's frames");
      router.child.kill('SIGINT');
      const out = await router.done;
      expect(out.code, out.stderr).toBe(0);
      summary = JSON.parse(out.stdout) as Summary;
    } finally {
      if (router.child.exitCode === null) router.child.kill('SIGKILL');
      await sentByA.close();
      await atB.close();
    }

    // Accounting in the router: everything host A sent is in, and every drop has its reason.
    const inA = counters(summary, 'inA');
    expect(inA.kernel_drops).toBe(0);
    expect(inA.csum_partial).toBe(0); // the hosts' checksum offload is off (scripts/live-router-lab.ts)
    expect(inA.non_ip).toBe(2);
    expect(inA.count).toBe(400 + 3 + 2 + 4 + 5);
    expect(inA.kernel_packets).toBe(inA.count + inA.non_ip + inA.outbound + inA.kernel_drops);
    expect(counters(summary, 'chkA').drops).toBe(3);
    expect(counters(summary, 'rtA').drops).toBe(4);
    expect(counters(summary, 'expiredB').count).toBe(2);
    expect(counters(summary, 'outB').count).toBe(400 + 5);
    expect(counters(summary, 'inB').count).toBe(5); // the echo replies
    expect(counters(summary, 'outA').count).toBe(5);
    for (const name of ['outA', 'outB']) {
      const c = counters(summary, name);
      expect(c.drops_queue_full + c.drops_too_big + c.drops_down + c.drops_not_ethernet + c.drops_other).toBe(0);
    }

    // At host B, read back by tshark: every good UDP frame and the 5 echo requests, routed.
    const atBFile = path.join(dir, 'at-b.pcap');
    writePcap(atBFile, atB.frames);
    const rows = tshark(['-r', atBFile, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=,', '-e', 'eth.src', '-e', 'eth.dst', '-e', 'ip.ttl', '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'ip.id', '-e', 'icmp.type']).map((l) => l.split(','));
    expect(rows.length).toBe(405);
    for (const [src, dst, ttl, ipSum] of rows) {
      expect(src).toBe(LIVE.routerMacB);
      expect(dst).toBe(LIVE.hostMacB);
      expect(ttl).toBe('63');
      expect(ipSum).toBe('1'); // 1 = Good
    }
    const udpRows = rows.filter((r) => r[6] === '');
    expect(udpRows.length).toBe(400);
    expect(udpRows.every((r) => r[4] === '1')).toBe(true);
    expect(udpRows.map((r) => Number(r[5])).sort((a, b) => a - b)).toEqual(good.map((_, i) => i));
    expect(rows.filter((r) => r[6] === '8').length).toBe(5); // echo requests
    // Payloads untouched: each routed frame is the sent one with new Ethernet addresses, TTL-1 and its checksum.
    const byId = new Map(atB.frames.filter((f) => f[23] === 17).map((f) => [(f[18] << 8) | f[19], f]));
    for (let i = 0; i < good.length; i++) {
      const got = byId.get(i)!;
      expect(got.length).toBe(good[i].length);
      expect(Buffer.from(got.subarray(34)).equals(Buffer.from(good[i].subarray(34)))).toBe(true);
    }

    // The same configuration on capture files: what host A sent in, the same routed packets out.
    const inFile = path.join(dir, 'from-a.pcap');
    const emptyFile = path.join(dir, 'empty.pcap');
    writePcap(inFile, sentByA.frames);
    writePcap(emptyFile, []);
    const dumpConfig = readFileSync(EXAMPLE, 'utf8')
      .replace('FromDevice(ra, FORCE_IP true)', `FromDump(FILE ${inFile})`)
      .replace('FromDevice(rb, FORCE_IP true)', `FromDump(FILE ${emptyFile})`)
      .replace('ToDevice(ra)', `ToDump(FILE ${path.join(dir, 'to-a.pcap')})`)
      .replace('ToDevice(rb)', `ToDump(FILE ${path.join(dir, 'to-b.pcap')})`)
      .replace('-> rxA', '-> Classifier(12/0800) -> rxA');
    expect(dumpConfig).not.toMatch(/^[^/]*Device\(/m);
    const dumpFile = path.join(dir, 'dump-router.click');
    writeFileSync(dumpFile, dumpConfig);
    const r = spawnSync(process.execPath, [CLI, 'run', dumpFile, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const offline = readPcap(path.join(dir, 'to-b.pcap')).packets;
    const live = atB.frames;
    expect(offline.length).toBe(live.length);
    const key = (f: Uint8Array): string => Buffer.from(f).toString('hex');
    expect(offline.map(key).sort()).toEqual(live.map(key).sort());
  });
});
