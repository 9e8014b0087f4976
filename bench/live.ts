/**
 * Live interfaces: packets per second forwarded between two veth interfaces by hetbox
 * (examples/live-router.click: FromDevice rings, CheckIPHeader, IPLookup, DecIPTTL, EtherEncap,
 * ToDevice) and, as the baseline in the same run, by the kernel's own forwarding (ip_forward in
 * the router namespace, same hosts, same traffic). Host A's sender is its own process
 * (bench/live-sender.ts, sendmmsg bursts as fast as the kernel takes them); host B's arrivals
 * are read from an AF_PACKET ring in this process and timed by their kernel timestamps, so the
 * rate is first-to-last arrival at host B. Frames are 64 and 1500 bytes. Skipped with the
 * reason where namespaces or raw sockets are not allowed (not root, no iproute2, addon not built).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlockPackets, RxRing, packetRingAvailable } from '../core/io/packet-ring.js';
import { netnsLabAvailable } from '../scripts/netns-lab.js';
import { buildRouterLab, type RouterLab } from '../scripts/live-router-lab.js';
import { fmt, type BenchReport } from './report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/app/cli/hetbox.js');
const sender = path.join(root, 'dist/bench/live-sender.js');
const example = path.join(root, 'examples/live-router.click');

const SIZES = [
  { length: 64, count: 200_000 },
  { length: 1500, count: 60_000 },
];

interface Arrival {
  rate: number;
  received: number;
  sent: number;
  senderDrops: number;
  ringDrops: number;
}

function childDone(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Send `count` frames of `length` bytes from host A; count and time what reaches host B. */
async function measure(t: RouterLab, length: number, count: number): Promise<Arrival> {
  const rx = new RxRing('bench', 'h0', { netns: t.hostB, blockSize: 1 << 20, blockCount: 32, retireMs: 1, outgoing: false, snaplen: 64 });
  try {
    const child = spawn(process.execPath, [sender, t.hostA, 'h0', String(count), String(length)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = childDone(child);
    let exited = false;
    void done.then(() => (exited = true));
    let received = 0;
    let first = -1;
    let last = -1;
    let blk = new BlockPackets(1024);
    let idleSince = -1;
    for (;;) {
      let got = false;
      for (let b = rx.nextBlock(); b >= 0; b = rx.nextBlock()) {
        blk = rx.readBlock(b, blk);
        for (let k = 0; k < blk.count; k++) {
          const m = blk.mac[k];
          // The benchmark's UDP only (source port 10000+), not host B's ICMP answers or anything else.
          if (rx.bytes[m + 23] !== 17 || rx.bytes[m + 34] < 0x27) continue;
          const ts = blk.sec[k] * 1e9 + blk.nsec[k];
          if (first < 0) first = ts;
          last = ts;
          received++;
        }
        rx.releaseBlock(b);
        got = true;
      }
      if (got) idleSince = -1;
      else if (exited) {
        // The sender is done: what is still on its way arrives within a few ms.
        if (idleSince < 0) idleSince = performance.now();
        else if (performance.now() - idleSince > 300 || received >= count) break;
      }
      await Promise.race([rx.waitReadable(), done, new Promise((r) => setTimeout(r, 20))]);
    }
    const out = await done;
    if (out.code !== 0) throw new Error(`live-sender failed: ${out.stderr}`);
    const s = JSON.parse(out.stdout) as { sent: number; dropped: number };
    const secs = (last - first) / 1e9;
    return { rate: secs > 0 ? (received - 1) / secs : 0, received, sent: s.sent, senderDrops: s.dropped, ringDrops: rx.stats().drops };
  } finally {
    rx.close();
  }
}

async function withHetbox<T>(t: RouterLab, body: () => Promise<T>): Promise<{ result: T; summary: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hetbox-bench-live-'));
  const child = spawn('ip', ['netns', 'exec', t.router, process.execPath, cli, 'run', example, '--json', '--control', path.join(dir, 'control.sock')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = childDone(child);
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('control socket listening')) resolve();
      });
      child.on('close', (code) => reject(new Error(`hetbox run exited (${code}): ${err}`)));
    });
    const result = await body();
    child.kill('SIGINT');
    const out = await done;
    return { result, summary: out.stdout };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(report: BenchReport): Promise<void> {
  const sec = report.section("live: packets/s forwarded between two veth interfaces, hetbox (live-router.click) vs the kernel's ip_forward");
  const lab = netnsLabAvailable();
  if (!lab.ok || !packetRingAvailable()) {
    report.note(sec, `section skipped: ${lab.ok ? 'the packet_ring addon is not built (npm run setup)' : lab.reason}`);
    return;
  }
  const kernelRows: Record<number, string> = {};
  const kt = buildRouterLab('bench-k', { kernelForwarding: true });
  try {
    for (const { length, count } of SIZES) {
      const a = await measure(kt, length, count);
      const name = `kernel ip_forward, ${length}-byte frames`;
      kernelRows[length] = name;
      report.add(sec, { name, value: a.rate, unit: 'pkt/s', extra: { sent: a.sent, received: a.received, lost: a.sent - a.received } });
    }
  } finally {
    kt.lab.cleanup();
  }
  const ht = buildRouterLab('bench-h');
  try {
    const { result, summary } = await withHetbox(ht, async () => {
      const rows: { length: number; a: Arrival }[] = [];
      for (const { length, count } of SIZES) rows.push({ length, a: await measure(ht, length, count) });
      return rows;
    });
    for (const { length, a } of result) {
      report.add(sec, {
        name: `hetbox live-router, ${length}-byte frames`,
        value: a.rate,
        unit: 'pkt/s',
        baseline: kernelRows[length],
        extra: { sent: a.sent, received: a.received, lost: a.sent - a.received },
      });
    }
    const s = JSON.parse(summary) as { elements: { name: string; counters: Record<string, number> }[] };
    const inA = s.elements.find((e) => e.name === 'inA')?.counters;
    if (inA !== undefined) report.note(sec, `hetbox's inA ring over both runs: ${fmt(inA.count)} received, ${fmt(inA.kernel_drops)} dropped by the kernel for want of a free block (ring 64 x 256 KiB)`);
  } finally {
    ht.lab.cleanup();
  }
  report.note(sec, 'sender, router and receiver share this machine\'s cores; lost = frames the sender handed to the kernel that did not reach host B (ring or backlog overflow on the way)');
}
