/**
 * Element: the unit a network function is built from (Click's element).
 *
 * An element class declares, as static members, its Click class name, its port counts,
 * its manual page and how to parse its configuration arguments (with zod). An instance
 * processes whole batches: `process(batch, inputPort)` returns one batch (or null) per
 * output port, and may be async so an offloaded kernel can await a GPU or an FPGA.
 */
import type { PacketBatch } from './packet-batch.js';
import type { ArgSpec, ConfigArgs } from './config/args.js';
import type { HandlerTable } from './handlers.js';
import type { RuntimeEnv } from './runtime-env.js';
import { Ledger } from './accounting.js';
import { StateError, stateConfig, type ElementDeclaration, type ElementState } from './element-state.js';

/** One batch (or nothing) per output port. */
export type ElementOutput = (PacketBatch | null)[];

/** Port counts in Click's notation: '1', '0', '1-2', '1-' (one or more). */
export interface PortSpec {
  inputs: string;
  outputs: string;
}

export interface ElementInit<C> {
  name: string;
  config: C;
  env: RuntimeEnv;
  /** Ports actually connected in the configuration (known when the graph is built). */
  ninputs: number;
  noutputs: number;
}

export abstract class Element<C = unknown> {
  readonly name: string;
  readonly config: C;
  readonly env: RuntimeEnv;
  readonly ninputs: number;
  readonly noutputs: number;

  /**
   * How many `process` calls may overlap. 1 (the default) serializes the element; an offloaded
   * kernel sets more so batch n+1 is uploaded while batch n computes. Outputs are always
   * delivered in sequence order whatever this is.
   */
  concurrency = 1;

  /**
   * This element's packet books (core/accounting.ts). The scheduler counts packets in and out;
   * the element reports, per batch, what it drops, consumes or creates, by reason:
   * `this.ledger.drop('no_route', k)`. A packet neither emitted nor reported is a loss a test sees.
   */
  readonly ledger: Ledger;

  constructor(init: ElementInit<C>) {
    this.name = init.name;
    this.config = init.config;
    this.env = init.env;
    this.ninputs = init.ninputs;
    this.noutputs = init.noutputs;
    this.ledger = new Ledger(init.ninputs, init.noutputs);
  }

  /** Packets the element holds at this moment (a Queue's backlog), for the accounting. */
  heldPackets(): number {
    return 0;
  }

  /**
   * The current image of the structure its declaration names `name` (a `structure` state
   * declaration), for the planner and migration to read without exporting the element's whole
   * state; undefined for a name it does not declare.
   */
  structureImage(_name: string): Uint32Array | undefined {
    return undefined;
  }

  /** Called once after the graph is built and before the first batch (open files, upload tables). */
  initialize(): void | Promise<void> {}

  /** Process one batch that arrived on `inputPort`. */
  abstract process(batch: PacketBatch, inputPort: number): ElementOutput | Promise<ElementOutput>;

  /** End of stream: emit whatever the element still holds (a Queue's packets). */
  flush(_seq: number): ElementOutput | Promise<ElementOutput> {
    return [];
  }

  /** Read/write handlers beyond the ones every element has (Click's `add_handlers`). */
  handlers(): HandlerTable {
    return {};
  }

  /** Counters for the run summary (`hetbox run` prints them; `--json` emits them). */
  summary(): Record<string, number | string> | null {
    return null;
  }

  cleanup(): void | Promise<void> {}

  /** The class's static declaration (kernels, state); none declared means none owned. */
  declaration(): ElementDeclaration {
    return (this.constructor as Partial<ElementClass<C>>).declares ?? { kernels: [], state: [] };
  }

  /** Configuration keys a state import may differ in (placement such as BACKEND; sizes). */
  protected stateConfigIgnores(): readonly string[] {
    return [];
  }

  /**
   * The state this element owns (Click's take_state, export side). An element that declares
   * state overrides it; the base exports an element that owns none, and refuses otherwise.
   */
  exportState(): ElementState {
    const owned = this.declaration().state;
    if (owned.length > 0) throw new StateError(this.name, `${this.className()} cannot export its state (${owned.map((s) => s.name).join(', ')})`);
    return this.stateHeader({});
  }

  /** Take over `state` exported by another instance of this class (Click's take_state); throws StateError when unsafe. */
  importState(state: ElementState): void {
    this.checkStateHeader(state);
    const owned = this.declaration().state;
    if (owned.length > 0) throw new StateError(this.name, `${this.className()} cannot import its state (${owned.map((s) => s.name).join(', ')})`);
  }

  /** Export for an element whose state is counters only (the declared `counters` part). */
  protected countersState(values: Record<string, number>): ElementState {
    return this.stateHeader({ counters: { kind: 'counters', values } });
  }

  /** Import side of countersState: the header checked, every declared counter present. */
  protected importCounters(state: ElementState): Record<string, number> {
    this.checkStateHeader(state);
    const part = state.parts.counters;
    if (part === undefined || part.kind !== 'counters') throw new StateError(this.name, "state has no counters part 'counters'");
    for (const d of this.declaration().state) {
      if (d.kind !== 'counters') continue;
      for (const c of d.counters) if (typeof part.values[c] !== 'number') throw new StateError(this.name, `state lacks counter ${c}`);
    }
    return part.values;
  }

  protected className(): string {
    return (this.constructor as Partial<ElementClass<C>>).className ?? this.constructor.name;
  }

  protected stateHeader(parts: ElementState['parts']): ElementState {
    return { className: this.className(), config: stateConfig(this.config, this.stateConfigIgnores()), parts };
  }

  /** Refuse state from another class or another configuration (placement keys aside). */
  protected checkStateHeader(state: ElementState): void {
    if (state.className !== this.className()) throw new StateError(this.name, `state is a ${state.className}'s, this is a ${this.className()}`);
    const mine = stateConfig(this.config, this.stateConfigIgnores());
    if (state.config !== mine) throw new StateError(this.name, `configuration differs (state from ${state.config}, this element ${mine})`);
  }
}

/** The static side of an element class: what the config language and `hetbox elements` need. */
export interface ElementClass<C = unknown> {
  readonly className: string;
  readonly aliases?: readonly string[];
  readonly ports: PortSpec;
  /**
   * Manual page: signature, ports, arguments, handlers (printed by `hetbox elements NAME`). It is
   * the one source: the element file's header comment is this text, checked by a test, and the
   * signature (the text before the first blank line) names every argument `args` accepts.
   */
  readonly manual: string;
  /** The arguments parseConfig accepts (positional, keywords, rest, zod schema). */
  readonly args?: ArgSpec<C>;
  /** Kernels it runs and state it owns, readable without making an element (planner, migration). */
  readonly declares?: ElementDeclaration;
  /** Source elements produce batches instead of receiving them. */
  readonly isSource?: boolean;
  /**
   * Exact number of outputs a given config has (Classifier: one per pattern), when the port spec
   * alone does not say; undefined when this config leaves it to the port spec (Tee without N).
   */
  outputsFor?(config: C): number | undefined;
  /** Turn raw configuration arguments into a validated config (throw ConfigArgError for a bad one). */
  parseConfig(args: ConfigArgs): C;
  /**
   * Optional: check what a config refers to outside itself (files, directories) without opening
   * anything for the run, so `hetbox check` rejects what `run` would. Throws a ConfigError at the
   * argument's place (`argLocation`); `baseDir` is what relative names resolve against.
   */
  checkEnvironment?(config: C, args: ConfigArgs, baseDir: string): void;
  new (init: ElementInit<C>): Element<C>;
}

/**
 * Checks `cls` against ElementClass<C> for its own config type C, then erases C, so classes
 * with different configs can share one table (the element library, a test's class list).
 */
export function eraseConfigType<C>(cls: ElementClass<C>): ElementClass<unknown> {
  return cls as unknown as ElementClass<unknown>;
}

/**
 * A source element (FromDump, generators): the scheduler pulls batches from it.
 *
 * Arena rule: no element keeps a batch (or views of its arena) past the end of its `process`
 * call; an element that holds packets copies them (PacketBatch.concat), as Queue does. So once
 * sequence n has left every element, its arenas are free and a source may reuse them.
 */
export interface SourceElement {
  /** The next batch with sequence `seq`, or null at end of stream. */
  nextBatch(seq: number, maxPackets: number): Promise<PacketBatch | null> | PacketBatch | null;
  /** Every batch up to `seq` has left the graph: their arenas may be reused. */
  release?(seq: number): void;
}

export function isSourceElement(e: Element): e is Element & SourceElement {
  return typeof (e as Partial<SourceElement>).nextBatch === 'function';
}
