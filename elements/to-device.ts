/**
 * ToDevice(DEVNAME [, keywords NETNS, BURST])
 *
 * Ports: 1 input, 0 or 1 output (packets pass on when output 0 is connected).
 *
 * Sends every packet's current bytes (its offset/length window, which must be a whole Ethernet
 * frame: batches of link type 1) out of a Linux network interface through an AF_PACKET socket
 * (native/packet-ring), one sendmmsg system call per batch (per BURST packets with BURST).
 * Packets still in a FromDevice ring go out from the ring itself: no copy.
 *
 * Back-pressure is never a silent drop:
 *   - the socket's send buffer is full (EAGAIN): ToDevice waits on the event loop until the
 *     socket is writable and sends the rest; counted in `waits`.
 *   - the interface's queue is full (ENOBUFS: the device or qdisc dropped the packet): counted
 *     in `drops_queue_full`, then the next packet goes.
 *   - a packet too big for the interface (EMSGSIZE): `drops_too_big`.
 *   - the interface is down or gone (ENETDOWN, ENXIO): `drops_down`.
 *   - a batch that is not Ethernet (raw IP after Strip(14) with no EtherEncap/Unstrip): every
 *     packet counted in `drops_not_ethernet`, warned about once.
 *   - any other error: `drops_other`, warned about once with its errno.
 * So count + every drops_* = packets received.
 *
 * Opening the socket needs CAP_NET_RAW (and CAP_SYS_ADMIN with NETNS); without it initialize
 * fails naming the capability.
 *
 * Keywords:
 *   DEVNAME  interface name
 *   NETNS    network namespace of the interface (a name from `ip netns`, or a path)
 *   BURST    most packets per system call (default: the whole batch)
 *
 * Handlers:
 *   count (read)                  packets the kernel took
 *   waits (read)                  times the socket was full and ToDevice waited
 *   drops_queue_full (read)       ENOBUFS drops
 *   drops_too_big (read)          EMSGSIZE drops
 *   drops_down (read)             ENETDOWN / ENXIO drops
 *   drops_not_ethernet (read)     packets of a non-Ethernet batch
 *   drops_other (read)            other send errors
 *   syscalls (read)               sendmmsg calls made
 */
import { z } from 'zod';
import { Element, type ElementOutput } from '../core/element.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { TxSocket, type SendResult } from '../core/io/packet-ring.js';
import { LINKTYPE_ETHERNET } from '../core/net/ipv4.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface ToDeviceConfig {
  DEVNAME: string;
  NETNS?: string;
  BURST?: number;
}

type DropReason = 'queue_full' | 'too_big' | 'down' | 'not_ethernet' | 'other';

const REASON_OF: Partial<Record<SendResult['error'], DropReason>> = {
  ENOBUFS: 'queue_full',
  EMSGSIZE: 'too_big',
  ENETDOWN: 'down',
  ENXIO: 'down',
};

export class ToDevice extends Element<ToDeviceConfig> {
  static readonly className = 'ToDevice';
  static readonly ports = { inputs: '1', outputs: '0-1' };
  /** Kernels it runs and state it owns (planner, migration). The socket stays with its instance. */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [{ kind: 'counters', name: 'counters', counters: ['count', 'waits', 'drops_queue_full', 'drops_too_big', 'drops_down', 'drops_not_ethernet', 'drops_other', 'syscalls'], doc: 'packets sent, waits and drops by reason' }],
  };
  static readonly manual = `ToDevice(DEVNAME [, keywords NETNS, BURST])

Ports: 1 input, 0 or 1 output (packets pass on when output 0 is connected).

Sends every packet's current bytes (its offset/length window, which must be a whole Ethernet
frame: batches of link type 1) out of a Linux network interface through an AF_PACKET socket
(native/packet-ring), one sendmmsg system call per batch (per BURST packets with BURST).
Packets still in a FromDevice ring go out from the ring itself: no copy.

Back-pressure is never a silent drop:
  - the socket's send buffer is full (EAGAIN): ToDevice waits on the event loop until the
    socket is writable and sends the rest; counted in \`waits\`.
  - the interface's queue is full (ENOBUFS: the device or qdisc dropped the packet): counted
    in \`drops_queue_full\`, then the next packet goes.
  - a packet too big for the interface (EMSGSIZE): \`drops_too_big\`.
  - the interface is down or gone (ENETDOWN, ENXIO): \`drops_down\`.
  - a batch that is not Ethernet (raw IP after Strip(14) with no EtherEncap/Unstrip): every
    packet counted in \`drops_not_ethernet\`, warned about once.
  - any other error: \`drops_other\`, warned about once with its errno.
So count + every drops_* = packets received.

Opening the socket needs CAP_NET_RAW (and CAP_SYS_ADMIN with NETNS); without it initialize
fails naming the capability.

Keywords:
  DEVNAME  interface name
  NETNS    network namespace of the interface (a name from \`ip netns\`, or a path)
  BURST    most packets per system call (default: the whole batch)

Handlers:
  count (read)                  packets the kernel took
  waits (read)                  times the socket was full and ToDevice waited
  drops_queue_full (read)       ENOBUFS drops
  drops_too_big (read)          EMSGSIZE drops
  drops_down (read)             ENETDOWN / ENXIO drops
  drops_not_ethernet (read)     packets of a non-Ethernet batch
  drops_other (read)            other send errors
  syscalls (read)               sendmmsg calls made`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<ToDeviceConfig> = {
    positional: ['DEVNAME'],
    keywords: ['DEVNAME', 'NETNS', 'BURST'],
    schema: z.object({
      DEVNAME: arg.string().min(1, 'an interface name is required').max(15, 'interface names have at most 15 characters'),
      NETNS: arg.string().min(1).optional(),
      BURST: arg.int(1, 65536).optional(),
    }),
  };

  static parseConfig(args: ConfigArgs): ToDeviceConfig {
    return parseArgs(args, ToDevice.args);
  }

  private socket: TxSocket | null = null;
  private sent = 0;
  private waits = 0;
  private syscalls = 0;
  private readonly drops: Record<DropReason, number> = { queue_full: 0, too_big: 0, down: 0, not_ethernet: 0, other: 0 };
  private readonly warned = new Set<string>();

  override initialize(): void {
    this.socket = new TxSocket(this.name, this.config.DEVNAME, { netns: this.config.NETNS });
  }

  async process(batch: PacketBatch): Promise<ElementOutput> {
    const sock = this.socket;
    if (sock === null) throw new Error(`${this.name}: process before initialize`);
    const pass: ElementOutput = this.noutputs > 0 ? [batch] : [];
    if (batch.linkType !== LINKTYPE_ETHERNET) {
      this.drop('not_ethernet', batch.count, `batches of link type ${batch.linkType} are not Ethernet frames (add EtherEncap or Unstrip(14) before ${this.name})`);
      return pass;
    }
    const burst = this.config.BURST ?? batch.count;
    let i = 0;
    while (i < batch.count) {
      const n = Math.min(burst, batch.count - i);
      const r = sock.send(batch.data, batch.offset, batch.length, i, n);
      this.syscalls++;
      this.sent += r.sent;
      i += r.sent;
      if (r.error === '') {
        if (r.sent === 0) throw new Error(`${this.name}: sendmmsg took nothing and reported no error`);
        continue;
      }
      if (r.error === 'EAGAIN') {
        this.waits++;
        await sock.waitWritable();
        continue;
      }
      // The packet at i failed: count it by reason and go on with the next.
      const reason = REASON_OF[r.error] ?? 'other';
      this.drop(reason, 1, `${this.config.DEVNAME}: send failed with ${r.error}`);
      i++;
    }
    return pass;
  }

  private drop(reason: DropReason, n: number, why: string): void {
    this.drops[reason] += n;
    if (!this.warned.has(reason)) {
      this.warned.add(reason);
      this.env.log.warn(`${this.name}: ${why}; counted in drops_${reason} (later ones are only counted)`);
    }
  }

  override cleanup(): void {
    this.socket?.close();
    this.socket = null;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.sent, 'packets the kernel took'),
      waits: counterHandler(() => this.waits, 'times the socket was full and ToDevice waited'),
      drops_queue_full: counterHandler(() => this.drops.queue_full, 'ENOBUFS: the interface queue was full'),
      drops_too_big: counterHandler(() => this.drops.too_big, 'EMSGSIZE: larger than the interface MTU'),
      drops_down: counterHandler(() => this.drops.down, 'ENETDOWN/ENXIO: interface down or gone'),
      drops_not_ethernet: counterHandler(() => this.drops.not_ethernet, 'packets of non-Ethernet batches'),
      drops_other: counterHandler(() => this.drops.other, 'other send errors'),
      syscalls: counterHandler(() => this.syscalls, 'sendmmsg calls'),
    };
  }

  override summary(): Record<string, number> {
    return {
      count: this.sent,
      waits: this.waits,
      drops_queue_full: this.drops.queue_full,
      drops_too_big: this.drops.too_big,
      drops_down: this.drops.down,
      drops_not_ethernet: this.drops.not_ethernet,
      drops_other: this.drops.other,
      syscalls: this.syscalls,
    };
  }
}
