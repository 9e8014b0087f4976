/**
 * What the live-interface tests share: whether a netns lab with raw sockets can run here (root,
 * iproute2, the packet_ring addon built), a describe that skips with a printed reason where it
 * cannot and fails instead under CI=true, the UDP frame builder (scripts/udp-frame.ts) and an
 * arena layout of frames for TxSocket.send.
 */
import { beforeAll, describe } from 'vitest';
import { netnsLabAvailable, type LabAvailability } from '../../scripts/netns-lab.js';
import { packetRingAvailable } from '../../core/io/packet-ring.js';

function availability(): LabAvailability {
  const lab = netnsLabAvailable();
  if (!lab.ok) return lab;
  if (!packetRingAvailable()) return { ok: false, reason: 'the packet_ring addon is not built (run `npm run setup`)' };
  return lab;
}

export const liveLab = availability();

/** describe() for tests that need the netns lab: skipped with the reason outside CI, a failure under CI=true. */
export function describeLive(name: string, body: () => void): void {
  if (!liveLab.ok && process.env.CI !== 'true') {
    console.warn(`skipping '${name}': ${liveLab.reason}`);
    describe.skip(name, body);
    return;
  }
  describe(name, () => {
    beforeAll(() => {
      if (!liveLab.ok) throw new Error(`'${name}' needs network namespaces and raw sockets: ${liveLab.reason} (CI=true: a failure, not a skip)`);
    });
    body();
  });
}

export { udpFrame, macBytes, type UdpFrameFields } from '../../scripts/udp-frame.js';

/** Frames laid out in one arena with offset/length columns, as TxSocket.send takes them. */
export function arenaOf(frames: readonly Uint8Array[]): { data: Uint8Array; offsets: Int32Array; lengths: Int32Array } {
  const total = frames.reduce((s, f) => s + f.length, 0);
  const data = new Uint8Array(total);
  const offsets = new Int32Array(frames.length);
  const lengths = new Int32Array(frames.length);
  let p = 0;
  frames.forEach((f, i) => {
    data.set(f, p);
    offsets[i] = p;
    lengths[i] = f.length;
    p += f.length;
  });
  return { data, offsets, lengths };
}
