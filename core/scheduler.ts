/**
 * The batch scheduler: pushes numbered batches from the sources through the graph.
 *
 * Every connection carries exactly one token per sequence number (a batch, or nothing when
 * no packet took that path), so an element knows when it has all of batch n's packets even
 * where paths split and join. Each element starts its `process` calls in sequence order, lets
 * up to `element.concurrency` overlap (an offloaded kernel keeps several batches on its
 * device), and delivers outputs strictly in sequence order. Back-pressure: sources stop while
 * `maxInFlight` batches are unfinished. At end of stream a final token makes every element
 * `flush` what it still holds.
 *
 * Synchronous elements cost no promise: an element whose `process` returns its outputs (not a
 * promise) while nothing of an earlier sequence of it is still to leave emits them at once,
 * so a graph of synchronous elements runs a batch through in one call chain. Asynchronous
 * results go through the element's emit chain, in order, as before.
 */
import { PacketBatch } from './packet-batch.js';
import { isSourceElement, type Element, type ElementOutput, type SourceElement } from './element.js';

type SourceElementNode = Element & SourceElement;
import type { Graph, GraphNode } from './graph.js';
import { WaitQueue } from './async/semaphore.js';

/**
 * Longest the source loop runs without giving the event loop a turn. A run served from memory
 * (a gzip capture, FromDump REPEAT, synchronous elements) otherwise chains only promises and
 * never lets signals, control requests or timers in until it ends. A macrotask turn every few
 * ms costs a few microseconds, far less than one batch.
 */
export const YIELD_SLICE_MS = 4;

/**
 * The source loop reads the clock once per this many packets (or YIELD_CHECK_BATCHES batches),
 * not per batch: a clock read costs 0.2-0.3 us on a virtual machine's clock source, a tenth of
 * a 32-packet batch's whole scheduling cost.
 */
const YIELD_CHECK_PACKETS = 1024;
const YIELD_CHECK_BATCHES = 32;

/** One turn of the event loop: timers, I/O callbacks (sockets, signals) and immediates run. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface SchedulerOptions {
  batchSize: number;
  maxInFlight: number;
  /** Called after each completed batch (progress display). */
  onBatchDone?: (stats: SchedulerStats) => void;
  /** Stop reading sources (a control socket's STOP, Ctrl-C); batches in flight still finish. */
  signal?: AbortSignal;
}

export interface SchedulerStats {
  batches: number;
  packetsIn: number;
  startedAt: number;
}

/** What an element with no packets in a sequence emits: nothing on every output. */
const NO_OUTPUTS: ElementOutput = [];

/** The tokens of one sequence number at one element: batches per input port, and how many connections have delivered. */
interface SeqEntry {
  seq: number;
  received: number;
  parts: PacketBatch[][];
}

interface NodeState {
  node: GraphNode;
  /** The element's ledger columns, read here once: per batch, `element.ledger` is a load on many element classes. */
  ledgerIn: Float64Array;
  ledgerOut: Float64Array;
  /** Sequences some but not all of whose tokens have arrived (elements with several incoming connections). */
  pending: Map<number, SeqEntry>;
  /** Sequences with every token in, in order, waiting to start. */
  ready: SeqEntry[];
  /** `process` calls started and not settled. */
  active: number;
  /**
   * Sequences started whose outputs have not left yet. At 0 an element whose `process` answers
   * synchronously emits at once, in the same turn: sequence order holds because nothing of an
   * earlier sequence is still on its way.
   */
  unemitted: number;
  /** Outputs of asynchronous work are delivered through this chain so they leave in sequence order. */
  emitChain: Promise<void>;
}

export class Scheduler {
  private readonly states: NodeState[];
  /**
   * Elements yet to finish each sequence in flight, at `seq & remainingMask`: at most
   * maxInFlight sequences plus the final token are in flight, and they complete in order. A
   * power-of-two length so the slot is a mask, not a division, twice per element per batch.
   */
  private readonly remaining: Int32Array;
  private readonly remainingMask: number;
  private completedSeqs = 0;
  /** Woken whenever a sequence completes; waiters re-check their own condition. */
  private readonly progress = new WaitQueue();
  private failure: unknown = null;
  /**
   * Rejecters of the waits now in progress in `run` (see `orFailure`): one per pending wait,
   * each removed when its wait settles. `run` awaits one thing at a time, so this holds at most
   * one entry whatever the number of batches.
   */
  private readonly failureWaiters = new Set<(e: unknown) => void>();
  readonly stats: SchedulerStats = { batches: 0, packetsIn: 0, startedAt: 0 };
  private finalSeq = -1;
  private sourceElements: SourceElementNode[] = [];

  constructor(
    private readonly graph: Graph,
    private readonly opts: SchedulerOptions,
  ) {
    let slots = 1;
    while (slots < Math.max(1, opts.maxInFlight) + 2) slots *= 2;
    this.remaining = new Int32Array(slots);
    this.remainingMask = slots - 1;
    this.states = graph.nodes.map((node) => ({ node, ledgerIn: node.element.ledger.in, ledgerOut: node.element.ledger.out, pending: new Map(), ready: [], active: 0, unemitted: 0, emitChain: Promise.resolve() }));
  }

  async run(): Promise<SchedulerStats> {
    this.stats.startedAt = performance.now();
    // Every element without incoming connections starts tokens; those that are not sources send empty ones.
    const sources = this.graph.nodes.filter((n) => n.inEdges === 0);
    // Per source, whether it still reads (a flag per entry of `sources`, not a Set lookup per source per batch).
    const live = sources.map((n) => isSourceElement(n.element));
    let liveCount = 0;
    for (const l of live) if (l) liveCount++;
    this.sourceElements = sources.filter((_, s) => live[s]).map((n) => n.element as SourceElementNode);
    // A source's one-batch output, reused for every batch: `emit` reads it before passing anything on.
    const sourceOut: (PacketBatch | null)[] = [null];
    let seq = 0;
    let lastYield = performance.now();
    let packetsSinceCheck = 0;
    let batchesSinceCheck = 0;
    try {
      while (liveCount > 0 && this.opts.signal?.aborted !== true) {
        // Waits only when they have to: a promise per batch here was a large share of a small batch's cost.
        if (this.failure !== null) throw this.failure;
        if (!this.hasRoom(seq)) await this.orFailure(this.waitForRoom(seq));
        this.remaining[seq & this.remainingMask] = this.graph.nodes.length;
        for (let s = 0; s < sources.length; s++) {
          const src = sources[s];
          let batch: PacketBatch | null = null;
          if (live[s]) {
            const el = src.element as SourceElementNode;
            const next = el.nextBatch(seq, this.opts.batchSize);
            batch = next instanceof Promise ? await this.orFailure(next) : next;
            if (batch === null) {
              live[s] = false;
              liveCount--;
            } else {
              this.stats.packetsIn += batch.count;
              el.ledger.produced += batch.count;
              packetsSinceCheck += batch.count;
            }
          }
          sourceOut[0] = batch;
          this.emit(this.states[src.index], seq, batch === null ? NO_OUTPUTS : sourceOut);
          // Not kept past its emit: the batch is the source's to recycle once released.
          sourceOut[0] = null;
        }
        seq++;
        // Time-sliced, not per batch: the control path is served within a few ms whatever the input.
        if (++batchesSinceCheck >= YIELD_CHECK_BATCHES || packetsSinceCheck >= YIELD_CHECK_PACKETS) {
          batchesSinceCheck = 0;
          packetsSinceCheck = 0;
          if (performance.now() - lastYield >= YIELD_SLICE_MS) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
        }
      }
      // Final token: every element flushes.
      this.finalSeq = seq;
      this.remaining[seq & this.remainingMask] = this.graph.nodes.length;
      for (const src of sources) {
        const st = this.states[src.index];
        this.startProcessing(st, { seq, received: 0, parts: [] });
      }
      await this.orFailure(this.waitForAll(seq + 1));
    } finally {
      this.failureWaiters.clear();
    }
    if (this.failure !== null) throw this.failure;
    return this.stats;
  }

  private hasRoom(seq: number): boolean {
    return seq - this.completedSeqs < this.opts.maxInFlight;
  }

  private waitForRoom(seq: number): Promise<void> {
    return this.waitUntil(() => this.hasRoom(seq));
  }

  private waitForAll(total: number): Promise<void> {
    return this.waitUntil(() => this.completedSeqs >= total);
  }

  private waitUntil(ready: () => boolean): Promise<void> {
    return this.progress.until(ready);
  }

  /**
   * `p`, or a rejection as soon as an element fails. Not `Promise.race([p, failed])` with one
   * long-lived `failed` promise: every race adds a reaction to `failed` that is never removed
   * while it stays pending, and each reaction keeps its race's promise and result (the batch)
   * alive. Two races per sequence grew the router's heap by hundreds of MB per minute under
   * steady traffic (`npm run soak`). Here each wait registers its own rejecter and removes it
   * when it settles, so nothing outlives the wait.
   */
  private orFailure<T>(p: Promise<T>): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const onFailure = (e: unknown): void => reject(e);
      this.failureWaiters.add(onFailure);
      // Unregistered before the caller resumes, so a settled wait never lingers in the set.
      p.then(
        (v) => {
          this.failureWaiters.delete(onFailure);
          resolve(v);
        },
        (e: unknown) => {
          this.failureWaiters.delete(onFailure);
          reject(e);
        },
      );
    });
  }

  /** Waits `run` has registered and not yet settled (0 between waits): for tests of the leak above. */
  get pendingFailureWaiters(): number {
    return this.failureWaiters.size;
  }

  private fail(e: unknown): void {
    if (this.failure === null) this.failure = e;
    for (const reject of [...this.failureWaiters]) reject(e);
  }

  /** An element finished sequence `seq` (emitted its tokens). */
  private done(seq: number): void {
    const at = seq & this.remainingMask;
    if (--this.remaining[at] > 0) return;
    // Sequences complete in order because every element emits in order.
    this.completedSeqs++;
    if (seq !== this.finalSeq) this.stats.batches++;
    for (const src of this.sourceElements) src.release?.(seq);
    this.opts.onBatchDone?.(this.stats);
    if (this.progress.waiting > 0) this.progress.wakeAll();
  }

  /** Deliver one element's outputs for `seq` to its downstream elements (one token per connection). */
  private emit(st: NodeState, seq: number, outputs: ElementOutput): void {
    const node = st.node;
    const sent = st.ledgerOut;
    for (let p = 0; p < node.outputs.length; p++) {
      const o = node.outputs[p];
      const b = outputs[p] ?? null;
      // Accounting: packets leave on a connected port here, and only here.
      if (b !== null) sent[p] += b.count;
      this.receive(this.states[o.node], seq, o.port, b);
    }
    this.done(seq);
  }

  private receive(st: NodeState, seq: number, port: number, batch: PacketBatch | null): void {
    const live = batch !== null && batch.count > 0;
    if (st.node.inEdges === 1) {
      // One connection: its token is the whole of `seq` here, no bookkeeping of partial arrivals.
      // Nothing unemitted means nothing active either: the element is idle whatever its concurrency.
      if (st.unemitted === 0 && st.ready.length === 0 && seq !== this.finalSeq) {
        this.processNow(st, seq, port, live ? batch : null);
        return;
      }
      const parts: PacketBatch[][] = [];
      if (live) parts[port] = [batch];
      this.startProcessing(st, { seq, received: 1, parts });
      return;
    }
    let entry = st.pending.get(seq);
    if (entry === undefined) {
      entry = { seq, received: 0, parts: [] };
      st.pending.set(seq, entry);
    }
    entry.received++;
    if (live) (entry.parts[port] ??= []).push(batch);
    if (entry.received === st.node.inEdges) {
      st.pending.delete(seq);
      this.startProcessing(st, entry);
    }
  }

  private startProcessing(st: NodeState, entry: SeqEntry): void {
    st.ready.push(entry);
    this.pump(st);
  }

  private pump(st: NodeState): void {
    const el = st.node.element;
    while (st.ready.length > 0 && st.active < Math.max(1, el.concurrency)) {
      const { seq, parts } = st.ready.shift()!;
      let work: ElementOutput | Promise<ElementOutput>;
      try {
        work = this.processSeq(st, seq, parts);
      } catch (e) {
        work = Promise.reject(e);
      }
      if (Array.isArray(work) && st.unemitted === 0) {
        // Synchronous answer, nothing earlier still to leave: out now, no promise per element per batch.
        this.emit(st, seq, work);
        continue;
      }
      this.chain(st, seq, work);
    }
  }

  /**
   * The common case, without queueing: the one token of `seq` is here, the element is idle and
   * nothing of it is still to leave. A synchronous answer leaves at once.
   */
  private processNow(st: NodeState, seq: number, port: number, batch: PacketBatch | null): void {
    if (batch === null) {
      this.emit(st, seq, NO_OUTPUTS);
      return;
    }
    const el = st.node.element;
    let work: ElementOutput | Promise<ElementOutput>;
    try {
      // Accounting: counted before `process`, which may shrink the batch in place.
      st.ledgerIn[port] += batch.count;
      work = el.process(batch, port);
    } catch (e) {
      work = Promise.reject(e);
    }
    if (Array.isArray(work)) this.emit(st, seq, work);
    else this.chain(st, seq, work);
  }

  /** Deliver `work`'s outputs once it settles, after every earlier sequence of this element. */
  private chain(st: NodeState, seq: number, work: ElementOutput | Promise<ElementOutput>): void {
    st.active++;
    st.unemitted++;
    const result = Promise.resolve(work);
    const settled = (): void => {
      st.active--;
      this.pump(st);
    };
    result.then(settled, settled);
    st.emitChain = st.emitChain.then(async () => {
      let outputs: ElementOutput;
      try {
        outputs = await result;
      } catch (e) {
        st.unemitted--;
        this.fail(e instanceof Error ? new Error(`element '${st.node.parsed.name}' (${st.node.cls.className}), batch ${seq}: ${e.message}`, { cause: e }) : e);
        return;
      }
      st.unemitted--;
      this.emit(st, seq, outputs);
    });
  }

  /**
   * Run the element on each input port's batch of `seq` (parts of one port merged back into
   * packet order), and `flush` on the final token. The outputs, synchronously while every call
   * answers synchronously; from the first call that answers with a promise on, a promise.
   */
  private processSeq(st: NodeState, seq: number, parts: PacketBatch[][]): ElementOutput | Promise<ElementOutput> {
    const out = new CollectedOutputs(st.node.outputs.length);
    for (let port = 0; port < parts.length; port++) {
      const r = this.processPort(st, seq, parts, port);
      if (r === null) continue;
      if (!Array.isArray(r)) return this.processRest(st, seq, parts, port, r, out);
      out.add(r);
    }
    if (seq === this.finalSeq) {
      const r = st.node.element.flush(seq);
      if (!Array.isArray(r)) return this.processRest(st, seq, parts, parts.length, r, out);
      out.add(r);
    }
    return out.result(seq);
  }

  /** `processSeq` from the call at `port` (parts.length: the flush) on, which answered `pending`. */
  private async processRest(st: NodeState, seq: number, parts: PacketBatch[][], port: number, pending: Promise<ElementOutput>, out: CollectedOutputs): Promise<ElementOutput> {
    out.add(await pending);
    for (let p = port + 1; p < parts.length; p++) {
      const r = this.processPort(st, seq, parts, p);
      if (r !== null) out.add(await r);
    }
    if (seq === this.finalSeq && port < parts.length) out.add(await st.node.element.flush(seq));
    return out.result(seq);
  }

  /** The element's `process` on input `port`'s batch of `seq`, or null when that port has none. */
  private processPort(st: NodeState, seq: number, parts: PacketBatch[][], port: number): ElementOutput | Promise<ElementOutput> | null {
    const list = parts[port];
    if (list === undefined || list.length === 0) return null;
    const el = st.node.element;
    const batch = list.length === 1 ? list[0] : PacketBatch.merge(seq, list);
    // Accounting: counted before `process`, which may shrink the batch in place.
    el.ledger.in[port] += batch.count;
    return el.process(batch, port);
  }
}

/**
 * An element's outputs for one sequence over its calls (one per input port with packets, and
 * the flush). One call, the common case, hands its own array through untouched; several are
 * gathered per output port and merged back into packet order.
 */
class CollectedOutputs {
  private only: ElementOutput | null = null;
  private lists: PacketBatch[][] | null = null;

  constructor(private readonly outputs: number) {}

  add(outs: ElementOutput): void {
    if (this.lists === null) {
      if (this.only === null) {
        this.only = outs;
        return;
      }
      this.lists = Array.from({ length: this.outputs }, () => []);
      this.push(this.only);
      this.only = null;
    }
    this.push(outs);
  }

  private push(outs: ElementOutput): void {
    const lists = this.lists!;
    for (let p = 0; p < Math.min(this.outputs, outs.length); p++) {
      const b = outs[p];
      if (b !== null && b !== undefined && b.count > 0) lists[p].push(b);
    }
  }

  result(seq: number): ElementOutput {
    if (this.lists === null) return this.only ?? [];
    return this.lists.map((list) => (list.length === 0 ? null : list.length === 1 ? list[0] : PacketBatch.merge(seq, list)));
  }
}
