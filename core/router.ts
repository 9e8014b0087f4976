/**
 * Router: one running configuration — its graph, its environment, its handlers and the
 * scheduler that runs it (Click's Router). The CLI, the control socket and tests drive this.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from './config/parse.js';
import { buildGraph, type ElementClassLookup, type Graph, type GraphNode } from './graph.js';
import { Scheduler, type SchedulerStats } from './scheduler.js';
import { HandlerError, type Handler } from './handlers.js';
import { consoleLogger, type Logger, type RuntimeEnv } from './runtime-env.js';
import type { Backend, BackendName } from './backend.js';
import { accountingOf, formatAccounting, type ElementAccounting } from './accounting.js';
import { quoteUserText } from './quote-user-text.js';

export interface RouterOptions {
  batchSize?: number;
  maxInFlight?: number;
  log?: Logger;
  strictBackends?: boolean;
  defaultBackend?: BackendName;
  /** Where backends come from (the backend registry); absent means only inline CPU work. */
  backends?: (name: BackendName) => Promise<Backend>;
  onBatchDone?: (stats: SchedulerStats) => void;
}

export interface ElementSummary {
  name: string;
  className: string;
  counters: Record<string, number | string>;
}

export interface RunSummary {
  config: string;
  packetsIn: number;
  batches: number;
  elapsedMs: number;
  packetsPerSecond: number;
  elements: ElementSummary[];
  /** Every element's packet books (core/accounting.ts), in graph order. */
  accounting: ElementAccounting[];
}

export const HETBOX_VERSION = '0.1.0';

export class Router {
  readonly graph: Graph;
  readonly env: RuntimeEnv;
  private readonly abort = new AbortController();
  private resolveStopped: () => void = () => undefined;
  /** Resolves when `stop()` is called (or the `stop` handler written): a lingering run ends then. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  private scheduler: Scheduler | null = null;

  private constructor(
    readonly file: string,
    readonly text: string,
    classes: ElementClassLookup,
    private readonly opts: RouterOptions,
  ) {
    const backends = opts.backends;
    this.env = {
      baseDir: path.dirname(path.resolve(file)),
      log: opts.log ?? consoleLogger,
      strictBackends: opts.strictBackends ?? process.env.CI === 'true',
      defaultBackend: opts.defaultBackend,
      stopSignal: this.abort.signal,
      backend: (name) => (backends ? backends(name) : Promise.reject(new Error(`no backend registry: backend '${name}' unavailable`))),
    };
    this.graph = buildGraph(parseConfig(text, file), classes, this.env);
  }

  static fromText(text: string, file: string, classes: ElementClassLookup, opts: RouterOptions = {}): Router {
    return new Router(file, text, classes, opts);
  }

  static fromFile(file: string, classes: ElementClassLookup, opts: RouterOptions = {}): Router {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`${file}: cannot read configuration: ${(e as Error).message}`);
    }
    return new Router(file, text, classes, opts);
  }

  async initialize(): Promise<void> {
    for (const i of this.graph.order) await this.graph.nodes[i].element.initialize();
  }

  async run(): Promise<RunSummary> {
    this.scheduler = new Scheduler(this.graph, {
      batchSize: this.opts.batchSize ?? 256,
      maxInFlight: this.opts.maxInFlight ?? 8,
      onBatchDone: this.opts.onBatchDone,
      signal: this.abort.signal,
    });
    const stats = await this.scheduler.run();
    return this.summary(stats);
  }

  /** Stop reading input; batches already in flight finish and are flushed. */
  stop(): void {
    this.abort.abort();
    this.resolveStopped();
  }

  get stats(): SchedulerStats | null {
    return this.scheduler?.stats ?? null;
  }

  summary(stats: SchedulerStats | null = this.stats): RunSummary {
    const elapsedMs = stats ? performance.now() - stats.startedAt : 0;
    const packetsIn = stats?.packetsIn ?? 0;
    return {
      config: this.file,
      packetsIn,
      batches: stats?.batches ?? 0,
      elapsedMs,
      packetsPerSecond: elapsedMs > 0 ? packetsIn / (elapsedMs / 1000) : 0,
      elements: this.graph.order.map((i) => {
        const n = this.graph.nodes[i];
        return { name: n.parsed.name, className: n.cls.className, counters: n.element.summary() ?? {} };
      }),
      accounting: this.accounting(),
    };
  }

  /** Every element's packet books now, in graph order; after a run each one balances (or a packet was lost). */
  accounting(): ElementAccounting[] {
    return this.graph.order.map((i) => this.elementAccounting(this.graph.nodes[i]));
  }

  private elementAccounting(n: GraphNode): ElementAccounting {
    return accountingOf(n.parsed.name, n.cls.className, n.element.ledger, n.element.heldPackets());
  }

  async cleanup(): Promise<void> {
    for (const i of this.graph.order) await this.graph.nodes[i].element.cleanup();
  }

  /** Handler by full name: `element.handler`, or a global one (`version`, `list`, `classes`, `config`). */
  handler(fullName: string): Handler {
    const dot = fullName.lastIndexOf('.');
    if (dot < 0) {
      const g = this.globalHandlers()[fullName];
      if (g === undefined) throw new NoSuchHandler(`no global handler ${quoteUserText(fullName)}`);
      return g;
    }
    const elName = fullName.slice(0, dot);
    const hName = fullName.slice(dot + 1);
    const node = this.graph.byName.get(elName);
    if (node === undefined) throw new NoSuchElement(`no element named ${quoteUserText(elName)}`);
    const h = this.elementHandlers(elName)[hName];
    if (h === undefined) throw new NoSuchHandler(`element ${quoteUserText(elName)} has no handler ${quoteUserText(hName)}`);
    return h;
  }

  /** Every handler name with its modes, e.g. `c.count r`, `q.capacity rw`. */
  listHandlers(): { name: string; read: boolean; write: boolean; doc?: string }[] {
    const out: { name: string; read: boolean; write: boolean; doc?: string }[] = [];
    for (const [k, h] of Object.entries(this.globalHandlers())) out.push({ name: k, read: !!h.read, write: !!h.write, doc: h.doc });
    for (const i of this.graph.order) {
      const name = this.graph.nodes[i].parsed.name;
      for (const [k, h] of Object.entries(this.elementHandlers(name))) out.push({ name: `${name}.${k}`, read: !!h.read, write: !!h.write, doc: h.doc });
    }
    return out;
  }

  private elementHandlers(name: string): Record<string, Handler> {
    const node = this.graph.byName.get(name)!;
    const generic: Record<string, Handler> = {
      name: { read: () => name, doc: 'element name' },
      class: { read: () => node.cls.className, doc: 'element class' },
      config: { read: () => node.parsed.argText.trim(), doc: 'configuration arguments as written' },
      ports: { read: () => `${node.element.ninputs} input${node.element.ninputs === 1 ? '' : 's'}\n${node.element.noutputs} output${node.element.noutputs === 1 ? '' : 's'}`, doc: 'port counts' },
      handlers: { read: () => Object.keys(this.elementHandlers(name)).join('\n'), doc: 'handler names' },
      accounting: { read: () => formatAccounting(this.elementAccounting(node)), doc: 'packets in, out per port, dropped/consumed by reason, held, balanced' },
    };
    return { ...generic, ...node.element.handlers() };
  }

  /** Router-level handlers added by whoever drives the run (`placements` under `hetbox run --adapt`). */
  private readonly extraHandlers: Record<string, Handler> = {};

  /** Add read-only or write handlers at the top level (no element prefix); a name taken is an error. */
  addHandlers(table: Record<string, Handler>): void {
    for (const [name, h] of Object.entries(table)) {
      if (name in this.globalHandlers()) throw new Error(`handler '${name}' exists already`);
      this.extraHandlers[name] = h;
    }
  }

  private globalHandlers(): Record<string, Handler> {
    return {
      ...this.extraHandlers,
      version: { read: () => HETBOX_VERSION, doc: 'hetbox version' },
      list: { read: () => [String(this.graph.nodes.length), ...this.graph.order.map((i) => this.graph.nodes[i].parsed.name)].join('\n'), doc: 'element count, then names' },
      classes: { read: () => [...new Set(this.graph.nodes.map((n) => n.cls.className))].sort().join('\n'), doc: 'element classes in use' },
      config: { read: () => this.text, doc: 'the configuration text' },
      packets: { read: () => String(this.stats?.packetsIn ?? 0), doc: 'packets read by sources so far' },
      stop: {
        write: () => this.stop(),
        doc: 'stop reading input (in-flight batches finish)',
      },
    };
  }
}

export class NoSuchElement extends HandlerError {}
export class NoSuchHandler extends HandlerError {}
