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

interface NodeState {
  node: GraphNode;
  /** Tokens received per sequence number: parts per input port and how many edges have delivered. */
  pending: Map<number, { received: number; parts: PacketBatch[][] }>;
  /** Sequence numbers ready to start, in order. */
  ready: number[];
  active: number;
  /** Outputs are delivered through this chain so they leave in sequence order. */
  emitChain: Promise<void>;
}

export class Scheduler {
  private readonly states: NodeState[];
  private readonly remaining = new Map<number, number>();
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
    this.states = graph.nodes.map((node) => ({ node, pending: new Map(), ready: [], active: 0, emitChain: Promise.resolve() }));
  }

  async run(): Promise<SchedulerStats> {
    this.stats.startedAt = performance.now();
    // Every element without incoming connections starts tokens; those that are not sources send empty ones.
    const sources = this.graph.nodes.filter((n) => n.inEdges === 0);
    const live = new Set(sources.filter((n) => isSourceElement(n.element)));
    this.sourceElements = [...live].map((n) => n.element as SourceElementNode);
    let seq = 0;
    let lastYield = performance.now();
    try {
      while (live.size > 0 && this.opts.signal?.aborted !== true) {
        await this.orFailure(this.waitForRoom(seq));
        this.remaining.set(seq, this.graph.nodes.length);
        for (const src of sources) {
          let batch: PacketBatch | null = null;
          if (live.has(src)) {
            const el = src.element as SourceElementNode;
            batch = await this.orFailure(Promise.resolve(el.nextBatch(seq, this.opts.batchSize)));
            if (batch === null) live.delete(src);
            else {
              this.stats.packetsIn += batch.count;
              el.ledger.produced += batch.count;
            }
          }
          this.emit(this.states[src.index], seq, batch === null ? [] : [batch]);
        }
        seq++;
        // Time-sliced, not per batch: the control path is served within a few ms whatever the input.
        if (performance.now() - lastYield >= YIELD_SLICE_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      // Final token: every element flushes.
      this.finalSeq = seq;
      this.remaining.set(seq, this.graph.nodes.length);
      for (const src of sources) {
        const st = this.states[src.index];
        this.startProcessing(st, seq);
      }
      await this.orFailure(this.waitForAll(seq + 1));
    } finally {
      this.failureWaiters.clear();
    }
    if (this.failure !== null) throw this.failure;
    return this.stats;
  }

  private waitForRoom(seq: number): Promise<void> {
    return this.waitUntil(() => seq - this.completedSeqs < this.opts.maxInFlight);
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
    const left = this.remaining.get(seq)! - 1;
    if (left > 0) {
      this.remaining.set(seq, left);
      return;
    }
    this.remaining.delete(seq);
    // Sequences complete in order because every element emits in order.
    this.completedSeqs++;
    if (seq !== this.finalSeq) this.stats.batches++;
    for (const src of this.sourceElements) src.release?.(seq);
    this.opts.onBatchDone?.(this.stats);
    this.progress.wakeAll();
  }

  /** Deliver one element's outputs for `seq` to its downstream elements (one token per connection). */
  private emit(st: NodeState, seq: number, outputs: ElementOutput): void {
    const node = st.node;
    const sent = node.element.ledger.out;
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
    let entry = st.pending.get(seq);
    if (entry === undefined) {
      entry = { received: 0, parts: [] };
      st.pending.set(seq, entry);
    }
    entry.received++;
    if (batch !== null && batch.count > 0) (entry.parts[port] ??= []).push(batch);
    if (entry.received === st.node.inEdges) this.startProcessing(st, seq);
  }

  private startProcessing(st: NodeState, seq: number): void {
    st.ready.push(seq);
    this.pump(st);
  }

  private pump(st: NodeState): void {
    const el = st.node.element;
    while (st.ready.length > 0 && st.active < Math.max(1, el.concurrency)) {
      const seq = st.ready.shift()!;
      const entry = st.pending.get(seq);
      st.pending.delete(seq);
      st.active++;
      const work = this.processOne(st, seq, entry?.parts ?? []);
      work.catch(() => undefined);
      const settled = work.then(
        () => undefined,
        () => undefined,
      );
      settled.then(() => {
        st.active--;
        this.pump(st);
      });
      st.emitChain = st.emitChain.then(async () => {
        let outputs: ElementOutput;
        try {
          outputs = await work;
        } catch (e) {
          this.fail(e instanceof Error ? new Error(`element '${st.node.parsed.name}' (${st.node.cls.className}), batch ${seq}: ${e.message}`, { cause: e }) : e);
          return;
        }
        this.emit(st, seq, outputs);
      });
    }
  }

  private async processOne(st: NodeState, seq: number, parts: PacketBatch[][]): Promise<ElementOutput> {
    const el = st.node.element;
    const n = st.node.outputs.length;
    const collected: PacketBatch[][] = Array.from({ length: n }, () => []);
    const collect = (outs: ElementOutput): void => {
      for (let p = 0; p < Math.min(n, outs.length); p++) {
        const b = outs[p];
        if (b !== null && b !== undefined && b.count > 0) collected[p].push(b);
      }
    };
    for (let port = 0; port < parts.length; port++) {
      const list = parts[port];
      if (list === undefined || list.length === 0) continue;
      const batch = list.length === 1 ? list[0] : PacketBatch.merge(seq, list);
      // Accounting: counted before `process`, which may shrink the batch in place.
      el.ledger.in[port] += batch.count;
      collect(await el.process(batch, port));
    }
    if (seq === this.finalSeq) collect(await el.flush(seq));
    return collected.map((list) => (list.length === 0 ? null : list.length === 1 ? list[0] : PacketBatch.merge(seq, list)));
  }
}
