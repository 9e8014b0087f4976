/**
 * FromDevice(DEVNAME [, keywords SNIFFER, PROMISC, SNAPLEN, BURST, FORCE_IP, OUTBOUND, NETNS,
 *            FANOUT, FANOUT_MODE, BLOCKS, BLOCK_SIZE, BLOCK_TIMEOUT, LIMIT, END_AFTER, TIMEOUT])
 *
 * Ports: no input, 1 output. Source.
 *
 * Receives the packets arriving on a Linux network interface through an AF_PACKET TPACKET_V3
 * ring the kernel fills and this process maps (native/packet-ring). Zero copy: a batch's arena
 * is the whole ring and its packets are windows into the ring's blocks; a block goes back to
 * the kernel when the scheduler releases the last batch that points into it. Each packet's
 * ring header in front of it is its headroom (82 bytes: EtherEncap needs no copy). Batches have
 * link type 1 (Ethernet), the kernel's receive timestamps, wire lengths and ids counting from 0.
 *
 * When the ring has no free block the kernel drops the packet and counts it: `kernel_drops`,
 * and `ring_freezes` counts how often the ring filled up. Every packet the socket was offered
 * is accounted for: kernel_packets = count + kernel_drops + non_ip + outbound.
 *
 * While its interface is quiet FromDevice waits on the event loop (never blocking it, never
 * polling on a timer); with several live sources, one that has packets is not held back by a
 * quiet one. A live source needs an end: LIMIT packets, TIMEOUT seconds, the `stop` write
 * handler, or the router's stop (control socket STOP, Ctrl-C).
 *
 * Opening the socket needs CAP_NET_RAW (and CAP_SYS_ADMIN with NETNS); without it initialize
 * fails with a message naming the capability. Parsing a configuration (`hetbox check`) does
 * not open anything.
 *
 * Keywords:
 *   DEVNAME        interface name
 *   SNIFFER        boolean, default true: the host's stack still gets the packets (Click's
 *                  default). false is refused: give the interface no address and leave
 *                  forwarding off in its namespace instead.
 *   PROMISC        boolean, default false: put the interface in promiscuous mode while open
 *   SNAPLEN        most bytes kept per packet (a BPF filter in the kernel); default 0 = all
 *   BURST          most packets per batch (default: the scheduler's batch size)
 *   FORCE_IP       boolean, default false: emit IPv4 packets only; others are counted in non_ip
 *   OUTBOUND       boolean, default false: also emit packets this host sends on the interface
 *   NETNS          network namespace of the interface (a name from `ip netns`, or a path)
 *   FANOUT         PACKET_FANOUT group id (0-65535): sockets of one group share the packets,
 *                  one queue each (several FromDevice on one interface, later one per worker)
 *   FANOUT_MODE    hash (default: by flow), lb (round robin), cpu, rnd, qm
 *   BLOCKS         ring blocks (default 64); BLOCK_SIZE bytes each (default 262144, a power of
 *                  two, multiple of 4096); BLOCK_TIMEOUT ms after which a partly filled block is
 *                  handed over (default 1)
 *   LIMIT          stop after this many packets (END_AFTER is the same)
 *   TIMEOUT        stop after this many seconds (a fraction allowed)
 *
 * Handlers:
 *   count (read)            packets emitted
 *   kernel_packets (read)   packets the socket was offered (PACKET_STATISTICS tp_packets)
 *   kernel_drops (read)     packets the kernel dropped for want of a free ring block
 *   ring_freezes (read)     times the ring filled up (tp_freeze_q_cnt)
 *   non_ip (read)           non-IPv4 packets dropped under FORCE_IP
 *   outbound (read)         packets sent by this host, skipped (OUTBOUND false)
 *   csum_partial (read)     packets emitted whose transport checksum the sending host left to
 *                           offload (TP_STATUS_CSUMNOTREADY: a local sender with tx checksumming
 *                           on, e.g. a veth peer); forwarded as they are, receivers reject them,
 *                           so turn the sender's offload off (ethtool -K IF tx off)
 *   ring (read)             ring geometry, e.g. "64 x 262144"
 *   stop (write)            end the stream: the next batch request answers end of stream
 */
import { z } from 'zod';
import { Element, type ElementOutput, type SourceElement } from '../core/element.js';
import { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { ElementDeclaration } from '../core/element-state.js';
import type { HandlerTable } from '../core/handlers.js';
import { BlockPackets, FANOUT_MODES, PACKET_OUTGOING, RxRing, TP_STATUS_CSUMNOTREADY, type FanoutMode, type RingStats } from '../core/io/packet-ring.js';
import { liveSeqHasPackets, noteLiveContribution, otherLiveSourceReady, registerLiveSource, unregisterLiveSource, waitForLiveSources, wakeLiveSources, type LiveSource } from '../core/io/live-sources.js';
import { ETHER_HEADER_LENGTH, LINKTYPE_ETHERNET } from '../core/net/ipv4.js';
import { actionHandler, counterHandler } from './lib/handler-helpers.js';

export interface FromDeviceConfig {
  DEVNAME: string;
  SNIFFER: boolean;
  PROMISC: boolean;
  SNAPLEN: number;
  BURST?: number;
  FORCE_IP: boolean;
  OUTBOUND: boolean;
  NETNS?: string;
  FANOUT?: number;
  FANOUT_MODE: FanoutMode;
  BLOCKS: number;
  BLOCK_SIZE: number;
  BLOCK_TIMEOUT: number;
  LIMIT?: number;
  TIMEOUT?: number;
}

/** A block handed out (wholly or partly) and the last batch that points into it. */
interface HeldBlock {
  index: number;
  lastSeq: number;
}

export class FromDevice extends Element<FromDeviceConfig> implements SourceElement, LiveSource {
  static readonly className = 'FromDevice';
  static readonly isSource = true;
  static readonly ports = { inputs: '0', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). The socket and its ring stay with their instance. */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'kernel_packets', 'kernel_drops', 'ring_freezes', 'non_ip', 'outbound', 'csum_partial'], doc: 'packets emitted and the ring\'s statistics' },
      { kind: 'settings', name: 'socket', settings: ['ring'], doc: 'the open AF_PACKET socket and its mapped ring: not carried, a new instance opens its own' },
    ],
  };
  static readonly manual = `FromDevice(DEVNAME [, keywords SNIFFER, PROMISC, SNAPLEN, BURST, FORCE_IP, OUTBOUND, NETNS,
           FANOUT, FANOUT_MODE, BLOCKS, BLOCK_SIZE, BLOCK_TIMEOUT, LIMIT, END_AFTER, TIMEOUT])

Ports: no input, 1 output. Source.

Receives the packets arriving on a Linux network interface through an AF_PACKET TPACKET_V3
ring the kernel fills and this process maps (native/packet-ring). Zero copy: a batch's arena
is the whole ring and its packets are windows into the ring's blocks; a block goes back to
the kernel when the scheduler releases the last batch that points into it. Each packet's
ring header in front of it is its headroom (82 bytes: EtherEncap needs no copy). Batches have
link type 1 (Ethernet), the kernel's receive timestamps, wire lengths and ids counting from 0.

When the ring has no free block the kernel drops the packet and counts it: \`kernel_drops\`,
and \`ring_freezes\` counts how often the ring filled up. Every packet the socket was offered
is accounted for: kernel_packets = count + kernel_drops + non_ip + outbound.

While its interface is quiet FromDevice waits on the event loop (never blocking it, never
polling on a timer); with several live sources, one that has packets is not held back by a
quiet one. A live source needs an end: LIMIT packets, TIMEOUT seconds, the \`stop\` write
handler, or the router's stop (control socket STOP, Ctrl-C).

Opening the socket needs CAP_NET_RAW (and CAP_SYS_ADMIN with NETNS); without it initialize
fails with a message naming the capability. Parsing a configuration (\`hetbox check\`) does
not open anything.

Keywords:
  DEVNAME        interface name
  SNIFFER        boolean, default true: the host's stack still gets the packets (Click's
                 default). false is refused: give the interface no address and leave
                 forwarding off in its namespace instead.
  PROMISC        boolean, default false: put the interface in promiscuous mode while open
  SNAPLEN        most bytes kept per packet (a BPF filter in the kernel); default 0 = all
  BURST          most packets per batch (default: the scheduler's batch size)
  FORCE_IP       boolean, default false: emit IPv4 packets only; others are counted in non_ip
  OUTBOUND       boolean, default false: also emit packets this host sends on the interface
  NETNS          network namespace of the interface (a name from \`ip netns\`, or a path)
  FANOUT         PACKET_FANOUT group id (0-65535): sockets of one group share the packets,
                 one queue each (several FromDevice on one interface, later one per worker)
  FANOUT_MODE    hash (default: by flow), lb (round robin), cpu, rnd, qm
  BLOCKS         ring blocks (default 64); BLOCK_SIZE bytes each (default 262144, a power of
                 two, multiple of 4096); BLOCK_TIMEOUT ms after which a partly filled block is
                 handed over (default 1)
  LIMIT          stop after this many packets (END_AFTER is the same)
  TIMEOUT        stop after this many seconds (a fraction allowed)

Handlers:
  count (read)            packets emitted
  kernel_packets (read)   packets the socket was offered (PACKET_STATISTICS tp_packets)
  kernel_drops (read)     packets the kernel dropped for want of a free ring block
  ring_freezes (read)     times the ring filled up (tp_freeze_q_cnt)
  non_ip (read)           non-IPv4 packets dropped under FORCE_IP
  outbound (read)         packets sent by this host, skipped (OUTBOUND false)
  csum_partial (read)     packets emitted whose transport checksum the sending host left to
                          offload (TP_STATUS_CSUMNOTREADY: a local sender with tx checksumming
                          on, e.g. a veth peer); forwarded as they are, receivers reject them,
                          so turn the sender's offload off (ethtool -K IF tx off)
  ring (read)             ring geometry, e.g. "64 x 262144"
  stop (write)            end the stream: the next batch request answers end of stream`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<FromDeviceConfig> = {
    positional: ['DEVNAME'],
    keywords: ['DEVNAME', 'SNIFFER', 'PROMISC', 'SNAPLEN', 'BURST', 'FORCE_IP', 'OUTBOUND', 'NETNS', 'FANOUT', 'FANOUT_MODE', 'BLOCKS', 'BLOCK_SIZE', 'BLOCK_TIMEOUT', 'LIMIT', 'END_AFTER', 'TIMEOUT'],
    schema: z
      .object({
        DEVNAME: arg.string().min(1, 'an interface name is required').max(15, 'interface names have at most 15 characters'),
        SNIFFER: arg
          .bool()
          .default(true)
          .refine((v) => v, 'SNIFFER false (taking packets away from the host stack) is not supported: give the interface no address and leave forwarding off in its namespace'),
        PROMISC: arg.bool().default(false),
        SNAPLEN: arg.int(0, 262144).default(0),
        BURST: arg.int(1, 65536).optional(),
        FORCE_IP: arg.bool().default(false),
        OUTBOUND: arg.bool().default(false),
        NETNS: arg.string().min(1).optional(),
        FANOUT: arg.int(0, 65535).optional(),
        FANOUT_MODE: z.enum(Object.keys(FANOUT_MODES) as [FanoutMode, ...FanoutMode[]]).default('hash'),
        BLOCKS: arg.int(2, 65536).default(64),
        BLOCK_SIZE: arg
          .int(4096, 1 << 28)
          .default(1 << 18)
          .refine((v) => (v & (v - 1)) === 0, 'BLOCK_SIZE must be a power of two'),
        BLOCK_TIMEOUT: arg.int(1, 60000).default(1),
        LIMIT: arg.int(0).optional(),
        END_AFTER: arg.int(0).optional(),
        TIMEOUT: z.coerce.number().positive().optional(),
      })
      .refine((c) => c.END_AFTER === undefined || c.LIMIT === undefined || c.END_AFTER === c.LIMIT, {
        message: 'END_AFTER and LIMIT are the same setting; give one',
        path: ['LIMIT'],
      })
      .transform(({ END_AFTER, ...c }) => ({ ...c, LIMIT: c.LIMIT ?? END_AFTER })),
  };

  static parseConfig(args: ConfigArgs): FromDeviceConfig {
    return parseArgs(args, FromDevice.args);
  }

  private ring: RxRing | null = null;
  /** Packets of the block being handed out, and the next one to hand out. */
  private block = new BlockPackets(256);
  private blockIndex = -1;
  private blockPos = 0;
  private readonly held: HeldBlock[] = [];
  /** Batches handed out and not yet released, by sequence number; then reused. */
  private readonly outstanding = new Map<number, PacketBatch>();
  private readonly pool: PacketBatch[] = [];
  private emitted = 0;
  private nonIp = 0;
  private outbound = 0;
  private csumPartial = 0;
  private csumWarned = false;
  private stopRequested = false;
  private finished = false;
  private armed = false;
  private timer: NodeJS.Timeout | null = null;
  private lastStats: RingStats = { packets: 0, drops: 0, freezes: 0 };

  override initialize(): void {
    const c = this.config;
    this.ring = new RxRing(this.name, c.DEVNAME, {
      netns: c.NETNS,
      promisc: c.PROMISC,
      fanout: c.FANOUT === undefined ? undefined : { group: c.FANOUT, mode: c.FANOUT_MODE },
      blockSize: c.BLOCK_SIZE,
      blockCount: c.BLOCKS,
      retireMs: c.BLOCK_TIMEOUT,
      outgoing: c.OUTBOUND,
      snaplen: c.SNAPLEN,
    });
    registerLiveSource(this);
    // The router's stop (control socket, Ctrl-C) must reach a source waiting for packets.
    this.env.stopSignal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.env.stopSignal?.aborted) this.requestStop();
  }

  private readonly onAbort = (): void => this.requestStop();

  /** Every batch up to `seq` has left the graph: blocks only they pointed into go back to the kernel. */
  release(seq: number): void {
    for (const [s, b] of this.outstanding) {
      if (s > seq) continue;
      this.outstanding.delete(s);
      if (this.pool.length < 64) this.pool.push(b);
    }
    let freed = false;
    while (this.held.length > 0 && this.held[0].lastSeq <= seq && !(this.held[0].index === this.blockIndex && this.blockPos < this.block.count)) {
      this.ring?.releaseBlock(this.held.shift()!.index);
      freed = true;
    }
    if (freed) wakeLiveSources();
  }

  async nextBatch(seq: number, maxPackets: number): Promise<PacketBatch | null> {
    const ring = this.ring;
    if (ring === null) throw new Error(`${this.name}: nextBatch before initialize`);
    if (this.timer === null && this.config.TIMEOUT !== undefined && !this.finished) {
      this.timer = setTimeout(() => this.requestStop(), this.config.TIMEOUT * 1000);
      this.timer.unref();
    }
    for (;;) {
      if (this.stopRequested || this.emitted >= (this.config.LIMIT ?? Infinity)) return this.finish();
      if (this.hasPackets()) {
        const b = this.take(seq, Math.min(maxPackets, this.config.BURST ?? maxPackets));
        if (b.count > 0) noteLiveContribution(seq);
        return b;
      }
      // Another interface has packets, or already put some into this batch: answer empty now.
      if (liveSeqHasPackets(seq) || otherLiveSourceReady(this)) return this.batchFor(seq, 0);
      await waitForLiveSources();
    }
  }

  hasPackets(): boolean {
    if (this.finished || this.ring === null) return false;
    if (this.blockIndex >= 0 && this.blockPos < this.block.count) return true;
    return this.ring.hasBlock();
  }

  armReadable(): Promise<void> | null {
    // While blocks are held the socket reads as readable for them; their release wakes us instead.
    if (this.finished || this.ring === null || this.armed || this.held.length > 0) return null;
    this.armed = true;
    return this.ring.waitReadable().then(() => {
      this.armed = false;
    });
  }

  /** A batch of up to `want` packets from the current block and the ones after it. */
  private take(seq: number, want: number): PacketBatch {
    const ring = this.ring!;
    const limit = this.config.LIMIT ?? Infinity;
    want = Math.min(want, limit - this.emitted);
    const batch = this.batchFor(seq, want);
    const forceIp = this.config.FORCE_IP;
    const data = ring.bytes;
    while (batch.count < want) {
      if (this.blockIndex < 0 || this.blockPos >= this.block.count) {
        const next = ring.nextBlock();
        if (next < 0) break;
        this.block = ring.readBlock(next, this.block);
        this.blockIndex = next;
        this.blockPos = 0;
        this.held.push({ index: next, lastSeq: seq });
      }
      this.held[this.held.length - 1].lastSeq = seq;
      const blk = this.block;
      while (this.blockPos < blk.count && batch.count < want) {
        const k = this.blockPos++;
        if (blk.pkttype[k] === PACKET_OUTGOING && !this.config.OUTBOUND) {
          this.outbound++;
          continue;
        }
        const mac = blk.mac[k];
        const caplen = blk.snaplen[k];
        if (forceIp && (caplen < ETHER_HEADER_LENGTH || data[mac + 12] !== 0x08 || data[mac + 13] !== 0x00)) {
          this.nonIp++;
          continue;
        }
        if ((blk.status[k] & TP_STATUS_CSUMNOTREADY) !== 0) this.noteCsumPartial();
        const j = batch.count++;
        batch.id[j] = this.emitted++;
        batch.offset[j] = mac;
        batch.length[j] = caplen;
        batch.base[j] = blk.hdr[k];
        batch.wireLength[j] = blk.len[k];
        batch.tsSec[j] = blk.sec[k];
        batch.tsNsec[j] = blk.nsec[k];
      }
    }
    return batch;
  }

  private noteCsumPartial(): void {
    this.csumPartial++;
    if (this.csumWarned) return;
    this.csumWarned = true;
    this.env.log.warn(`${this.name}: ${this.config.DEVNAME}: a packet arrived with its transport checksum left to the sender's offload; it is forwarded as is (counted in csum_partial): turn checksum offload off on the sending interface (ethtool -K IF tx off)`);
  }

  private batchFor(seq: number, capacity: number): PacketBatch {
    const data = this.ring!.bytes;
    const i = this.pool.findIndex((b) => b.capacity >= capacity && b.capacity <= 2 * capacity + 16);
    let batch: PacketBatch;
    if (i >= 0) {
      batch = this.pool.splice(i, 1)[0];
      batch.recycle(seq, data, LINKTYPE_ETHERNET);
    } else {
      batch = new PacketBatch({ seq, capacity, data, linkType: LINKTYPE_ETHERNET });
    }
    this.outstanding.set(seq, batch);
    return batch;
  }

  /** End the stream at the next batch request (the `stop` handler, TIMEOUT). */
  requestStop(): void {
    this.stopRequested = true;
    wakeLiveSources();
  }

  /** A source receives no batches; anything handed in passes on unchanged. */
  process(batch: PacketBatch): ElementOutput {
    return [batch];
  }

  /** Kernel statistics, read fresh while open and kept after close. */
  stats(): RingStats {
    if (this.ring !== null) this.lastStats = this.ring.stats();
    return this.lastStats;
  }

  override cleanup(): void {
    this.env.stopSignal?.removeEventListener('abort', this.onAbort);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.ring !== null) {
      this.stats();
      unregisterLiveSource(this);
      this.ring.close();
      this.ring = null;
    }
    this.finished = true;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.emitted, 'packets emitted'),
      kernel_packets: counterHandler(() => this.stats().packets, 'packets the socket was offered'),
      kernel_drops: counterHandler(() => this.stats().drops, 'packets dropped by the kernel: no free ring block'),
      ring_freezes: counterHandler(() => this.stats().freezes, 'times the ring filled up'),
      non_ip: counterHandler(() => this.nonIp, 'non-IPv4 packets dropped under FORCE_IP'),
      outbound: counterHandler(() => this.outbound, "this host's own sends, skipped"),
      csum_partial: counterHandler(() => this.csumPartial, "packets whose checksum the sender left to offload"),
      ring: { read: () => `${this.config.BLOCKS} x ${this.config.BLOCK_SIZE}`, doc: 'ring blocks x block size' },
      stop: actionHandler(() => this.requestStop(), 'end the stream'),
    };
  }

  override summary(): Record<string, number | string> {
    const s = this.stats();
    return { count: this.emitted, kernel_packets: s.packets, kernel_drops: s.drops, ring_freezes: s.freezes, non_ip: this.nonIp, outbound: this.outbound, csum_partial: this.csumPartial };
  }

  private finish(): null {
    if (!this.finished) {
      this.finished = true;
      unregisterLiveSource(this);
    }
    return null;
  }
}
