/**
 * The live benchmark's traffic source, run as its own process so the bench process can receive
 * at the same time: sends COUNT UDP frames of LENGTH bytes from host A (namespace NS, interface
 * IF) to host B through the router, with sendmmsg in bursts of 256, as fast as the kernel takes
 * them (EAGAIN: wait for the socket; ENOBUFS: counted). Prints one JSON line {sent, dropped}.
 *   node dist/bench/live-sender.js NS IF COUNT LENGTH
 */
import { TxSocket } from '../core/io/packet-ring.js';
import { udpFrame } from '../scripts/udp-frame.js';
import { LIVE } from '../scripts/live-router-lab.js';

async function main(): Promise<void> {
  const [ns, ifname, countArg, lengthArg] = process.argv.slice(2);
  const count = Number(countArg);
  const length = Number(lengthArg);
  const burst = 256;
  // 256 distinct frames (64 flows), sent over and over from one arena.
  const frames = Array.from({ length: burst }, (_, i) =>
    udpFrame({ dstMac: LIVE.routerMacA, srcMac: LIVE.hostMacA, src: [10, 1, 0, 2], dst: [10, 2, 0, 2], sport: 10000 + (i % 64), dport: 9, id: i, frameLength: length }),
  );
  const data = new Uint8Array(burst * length);
  const offsets = new Int32Array(burst);
  const lengths = new Int32Array(burst).fill(length);
  frames.forEach((f, i) => {
    data.set(f, i * length);
    offsets[i] = i * length;
  });
  const tx = new TxSocket('live-sender', ifname, { netns: ns });
  let sent = 0;
  let dropped = 0;
  while (sent + dropped < count) {
    const n = Math.min(burst, count - sent - dropped);
    let i = 0;
    while (i < n) {
      const r = tx.send(data, offsets, lengths, i, n - i);
      sent += r.sent;
      i += r.sent;
      if (r.error === 'EAGAIN') await tx.waitWritable();
      else if (r.error !== '') {
        dropped++;
        i++;
      }
    }
  }
  tx.close();
  process.stdout.write(`${JSON.stringify({ sent, dropped })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`live-sender: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
