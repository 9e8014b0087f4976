/**
 * Live interface I/O over the packet_ring addon (native/packet-ring): an AF_PACKET TPACKET_V3
 * receive ring mapped into one external ArrayBuffer, and a send socket that sends a batch with
 * one sendmmsg. The addon does the system calls; this file does the rest: it walks block and
 * packet headers in the mapped ring itself, keeps statistics, and turns EPERM into a message
 * naming the missing capability (CAP_NET_RAW).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's surface, as packet-ring.c defines it. */
interface RingHandle {
  readonly __ringHandle: unique symbol;
}
interface OpenResult {
  handle: RingHandle;
  ring: ArrayBuffer | null;
  mac: ArrayBuffer;
  ifindex: number;
  blockSize: number;
  blockCount: number;
}
interface PacketRingAddon {
  open(ifname: string, opts: Record<string, number | string | undefined>): OpenResult;
  nextBlock(h: RingHandle): number;
  peekBlock(h: RingHandle): boolean;
  releaseBlock(h: RingHandle, index: number): void;
  stats(h: RingHandle): [number, number, number];
  poll(h: RingHandle, events: number, cb: (status: number, events: number) => void): void;
  send(h: RingHandle, data: Uint8Array, offsets: Int32Array, lengths: Int32Array, start: number, count: number): number;
  close(h: RingHandle): void;
}

const ADDON_RELATIVE = 'native/packet-ring/build/Release/packet_ring.node';

/** The repository root: the nearest directory above this file holding native/packet-ring. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'native', 'packet-ring'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('packet_ring: cannot find native/packet-ring above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let addon: PacketRingAddon | null = null;

/** The addon, loaded on first use (so `hetbox check` and configs without live devices never need it). */
export function packetRingAddon(): PacketRingAddon {
  if (addon !== null) return addon;
  const file = path.join(repoRoot(), ADDON_RELATIVE);
  if (!existsSync(file)) throw new Error(`the packet_ring addon is not built (${file} is missing): run \`npm run setup\``);
  addon = createRequire(import.meta.url)(file) as PacketRingAddon;
  return addon;
}

/** Whether the addon is built (tests and the bench report its absence instead of failing). */
export function packetRingAvailable(): boolean {
  try {
    packetRingAddon();
    return true;
  } catch {
    return false;
  }
}

/** PACKET_FANOUT modes (linux/if_packet.h). */
export const FANOUT_MODES = { hash: 0, lb: 1, cpu: 2, rnd: 4, qm: 5 } as const;
export type FanoutMode = keyof typeof FANOUT_MODES;

export interface OpenOptions {
  /** Network namespace (a name under /var/run/netns, or a path) the interface lives in. */
  netns?: string;
  promisc?: boolean;
  fanout?: { group: number; mode: FanoutMode };
}

export interface RxRingOptions extends OpenOptions {
  blockSize: number;
  blockCount: number;
  /** Milliseconds after which the kernel hands over a block that is not full. */
  retireMs: number;
  /** Also receive what this host sends on the interface. */
  outgoing: boolean;
  /** Most bytes kept per packet (a one-instruction BPF filter); 0 keeps everything. */
  snaplen: number;
}

/** An error from opening a device, with the missing capability named where that is the cause. */
export class DeviceError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}

function openDevice(who: string, ifname: string, opts: Record<string, number | string | undefined>): OpenResult {
  const lib = packetRingAddon();
  try {
    return lib.open(ifname, opts);
  } catch (e) {
    const err = e as Error & { code?: string };
    const code = err.code ?? 'EIO';
    if (code === 'EPERM' || code === 'EACCES') {
      throw new DeviceError(
        `${who}: ${err.message}: opening a raw packet socket needs the CAP_NET_RAW capability (run as root, or \`setcap cap_net_raw+ep $(command -v node)\`)` +
          (opts.netns ? '; entering a network namespace also needs CAP_SYS_ADMIN' : ''),
        code,
      );
    }
    if (code === 'ENODEV' || (code === 'EIO' && /interface/.test(err.message))) {
      throw new DeviceError(`${who}: no interface '${ifname}'${opts.netns ? ` in network namespace '${opts.netns}'` : ''} (${err.message})`, 'ENODEV');
    }
    if (code === 'ENOENT' && opts.netns) throw new DeviceError(`${who}: no network namespace '${opts.netns}' (${err.message})`, code);
    throw new DeviceError(`${who}: ${err.message}`, code);
  }
}

function fanoutOpts(o: OpenOptions): Record<string, number | string | undefined> {
  return {
    netns: o.netns,
    promisc: o.promisc ? 1 : 0,
    fanoutGroup: o.fanout ? o.fanout.group : -1,
    fanoutMode: o.fanout ? FANOUT_MODES[o.fanout.mode] : 0,
  };
}

/** Kernel statistics of a receive ring, accumulated since it was opened. */
export interface RingStats {
  /** Packets the socket was offered (received + dropped). */
  packets: number;
  /** Packets dropped because the ring had no free block. */
  drops: number;
  /** Times the ring filled up (the kernel froze the queue until a block came back). */
  freezes: number;
}

/** Offsets in struct tpacket_block_desc / tpacket3_hdr / sockaddr_ll (linux/if_packet.h). */
const BLOCK_NUM_PKTS = 12;
const BLOCK_FIRST_PKT = 16;
const PKT_NEXT = 0;
const PKT_SEC = 4;
const PKT_NSEC = 8;
const PKT_SNAPLEN = 12;
const PKT_LEN = 16;
const PKT_STATUS = 20;
const PKT_MAC = 24;
/** TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + offsetof(struct sockaddr_ll, sll_pkttype). */
const PKT_PKTTYPE = 48 + 10;
/** tp_status bit: the sender left the transport checksum to offload (it is not in the bytes). */
export const TP_STATUS_CSUMNOTREADY = 1 << 3;
/** sll_pkttype of a packet this host sent. */
export const PACKET_OUTGOING = 4;

/** The packets of one block, as column arrays (refilled for every block). */
export class BlockPackets {
  count = 0;
  /** Start of the packet's tpacket3_hdr: everything from here to `mac` is free headroom once read. */
  readonly hdr: Int32Array;
  readonly mac: Int32Array;
  readonly snaplen: Int32Array;
  readonly len: Int32Array;
  readonly sec: Float64Array;
  readonly nsec: Int32Array;
  readonly pkttype: Uint8Array;
  /** tp_status (TP_STATUS_CSUMNOTREADY and friends). */
  readonly status: Int32Array;
  constructor(readonly capacity: number) {
    this.status = new Int32Array(capacity);
    this.hdr = new Int32Array(capacity);
    this.mac = new Int32Array(capacity);
    this.snaplen = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.sec = new Float64Array(capacity);
    this.nsec = new Int32Array(capacity);
    this.pkttype = new Uint8Array(capacity);
  }
}

/** A TPACKET_V3 receive ring on one interface. */
export class RxRing {
  readonly bytes: Uint8Array;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly mac: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly handle: RingHandle;
  private readonly lib: PacketRingAddon;
  private closed = false;

  constructor(
    readonly who: string,
    readonly ifname: string,
    opts: RxRingOptions,
  ) {
    if (opts.blockSize % 4096 !== 0 || (opts.blockSize & (opts.blockSize - 1)) !== 0) {
      throw new DeviceError(`${who}: block size ${opts.blockSize} must be a power of two and a multiple of 4096`, 'EINVAL');
    }
    const r = openDevice(who, ifname, {
      ...fanoutOpts(opts),
      rx: 1,
      blockSize: opts.blockSize,
      blockCount: opts.blockCount,
      frameSize: 2048,
      retireMs: opts.retireMs,
      ignoreOutgoing: opts.outgoing ? 0 : 1,
      snaplen: opts.snaplen,
    });
    this.lib = packetRingAddon();
    this.handle = r.handle;
    this.bytes = new Uint8Array(r.ring!);
    this.u32 = new Uint32Array(r.ring!);
    this.u16 = new Uint16Array(r.ring!);
    this.blockSize = r.blockSize;
    this.blockCount = r.blockCount;
    this.mac = new Uint8Array(r.mac);
  }

  /** The next block the kernel has filled (in ring order), or -1. */
  nextBlock(): number {
    return this.closed ? -1 : this.lib.nextBlock(this.handle);
  }

  hasBlock(): boolean {
    return !this.closed && this.lib.peekBlock(this.handle);
  }

  /** Walk block `index`'s packet headers into `out` (grown when a block holds more packets). */
  readBlock(index: number, out: BlockPackets): BlockPackets {
    const base = index * this.blockSize;
    const n = this.u32[(base + BLOCK_NUM_PKTS) >> 2];
    if (n > out.capacity) out = new BlockPackets(Math.max(n, out.capacity * 2));
    let p = base + this.u32[(base + BLOCK_FIRST_PKT) >> 2];
    for (let k = 0; k < n; k++) {
      out.hdr[k] = p;
      out.sec[k] = this.u32[(p + PKT_SEC) >> 2];
      out.nsec[k] = this.u32[(p + PKT_NSEC) >> 2];
      out.snaplen[k] = this.u32[(p + PKT_SNAPLEN) >> 2];
      out.len[k] = this.u32[(p + PKT_LEN) >> 2];
      out.mac[k] = p + this.u16[(p + PKT_MAC) >> 1];
      out.pkttype[k] = this.bytes[p + PKT_PKTTYPE];
      out.status[k] = this.u32[(p + PKT_STATUS) >> 2];
      p += this.u32[(p + PKT_NEXT) >> 2];
    }
    out.count = n;
    return out;
  }

  releaseBlock(index: number): void {
    if (!this.closed) this.lib.releaseBlock(this.handle, index);
  }

  stats(): RingStats {
    const [packets, drops, freezes] = this.lib.stats(this.handle);
    return { packets, drops, freezes };
  }

  /** Resolves once the socket is readable (one-shot; a second call while one is pending shares it). */
  waitReadable(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.pending !== null) return this.pending;
    this.pending = new Promise<void>((resolve) => {
      this.pendingResolve = resolve;
      this.lib.poll(this.handle, 1, () => {
        this.pending = null;
        this.pendingResolve = null;
        resolve();
      });
    });
    return this.pending;
  }

  private pending: Promise<void> | null = null;
  private pendingResolve: (() => void) | null = null;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.handle);
    // close() drops the addon's callback: whoever waited is told now instead.
    this.pendingResolve?.();
    this.pending = null;
    this.pendingResolve = null;
  }
}

/** Outcome of one sendmmsg over a range of packets. */
export interface SendResult {
  /** Packets the kernel took (from the start of the range). */
  sent: number;
  /** errno name of the packet after them that failed ('' when all went). */
  error: '' | 'EAGAIN' | 'ENOBUFS' | 'EMSGSIZE' | 'ENETDOWN' | 'ENXIO' | 'EINVAL' | `errno ${number}`;
}

const ERRNO_NAMES: Record<number, SendResult['error']> = { 11: 'EAGAIN', 105: 'ENOBUFS', 90: 'EMSGSIZE', 100: 'ENETDOWN', 6: 'ENXIO', 22: 'EINVAL' };

/** A send-only packet socket bound to one interface. */
export class TxSocket {
  readonly mac: Uint8Array;
  private readonly handle: RingHandle;
  private readonly lib: PacketRingAddon;
  private closed = false;

  constructor(
    readonly who: string,
    readonly ifname: string,
    opts: OpenOptions = {},
  ) {
    const r = openDevice(who, ifname, { ...fanoutOpts({ netns: opts.netns }), rx: 0 });
    this.lib = packetRingAddon();
    this.handle = r.handle;
    this.mac = new Uint8Array(r.mac);
  }

  /** Send packets [start, start+count) of the columns in one system call. */
  send(data: Uint8Array, offsets: Int32Array, lengths: Int32Array, start: number, count: number): SendResult {
    const rc = this.lib.send(this.handle, data, offsets, lengths, start, count);
    if (rc >= count) return { sent: count, error: '' };
    if (rc >= 0) return { sent: rc, error: '' };
    return { sent: 0, error: ERRNO_NAMES[-rc] ?? `errno ${-rc}` };
  }

  /** Resolves once the socket can take more (after EAGAIN). */
  waitWritable(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => this.lib.poll(this.handle, 2, () => resolve()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.handle);
  }
}
