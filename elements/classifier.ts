/**
 * Classifier(PATTERN_1, ..., PATTERN_N)
 *
 * Ports: 1 input, N outputs (one per pattern; `Classifier.outputsFor(config)` says how many).
 *
 * Classifies packets by their bytes. Each pattern is a set of clauses separated by spaces; a
 * clause is `offset/value` or `offset/value%mask`: the offset is decimal and counted from the
 * packet's current start (after any Strip), the value and mask are hex with an even number of
 * digits (the value's length gives the number of bytes compared), `?` in the value is a
 * don't-care nibble, and only bits set in the mask are compared. A clause preceded by `!` must
 * NOT match. A clause whose bytes run past the packet's end does not match (so its negation
 * does). The pattern `-` matches every packet. A packet goes to the output of the first
 * pattern it matches; a packet matching none is dropped and counted.
 *
 * Examples: Classifier(12/0800, 12/0806 20/0002, -) sends IPv4 to 0, ARP replies to 1, the
 * rest to 2. Classifier(12/0800 23/06, 12/0800 !23/06) splits IPv4 TCP from other IPv4.
 *
 * The patterns are compiled once into an Int32Array program run by `classifyBatch` (exported
 * for the kernel layer), a tight loop over the batch's offset/length columns.
 *
 * Handlers:
 *   count (read)         packets classified (sent to some output)
 *   drops (read)         packets that matched no pattern
 *   patternK (read)      the text of pattern K, K = 0..N-1
 *   reset_counts (write) zero the counters
 */
import { z } from 'zod';
import { ClassifyElement } from '../core/element-helpers/classify-element.js';
import type { ElementDeclaration, ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { PatternError, classifyBatch, compileClassifier, parsePattern } from './lib/classifier-program.js';
import { actionHandler, counterHandler } from './lib/handler-helpers.js';

export { classifyBatch, compileClassifier } from './lib/classifier-program.js';

export interface ClassifierConfig {
  patterns: string[];
  /** The compiled program (see elements/lib/classifier-program.ts for its layout). */
  program: Int32Array;
}

const patternSchema = z.string().superRefine((s, ctx) => {
  try {
    parsePattern(s, 0);
  } catch (e) {
    if (!(e instanceof PatternError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.detail });
  }
});

const schema = z
  .object({ PATTERNS: z.array(patternSchema).min(1, 'Classifier needs at least one pattern') })
  .transform((o): ClassifierConfig => ({ patterns: o.PATTERNS, program: compileClassifier(o.PATTERNS) }));

export class Classifier extends ClassifyElement<ClassifierConfig> {
  static readonly className = 'Classifier';
  static readonly ports = { inputs: '1', outputs: '1-' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count', 'drops'], doc: 'packets classified and unmatched, and per output' },
    ],
  };
  static readonly manual = `Classifier(PATTERN_1, ..., PATTERN_N)

Ports: 1 input, N outputs (one per pattern; \`Classifier.outputsFor(config)\` says how many).

Classifies packets by their bytes. Each pattern is a set of clauses separated by spaces; a
clause is \`offset/value\` or \`offset/value%mask\`: the offset is decimal and counted from the
packet's current start (after any Strip), the value and mask are hex with an even number of
digits (the value's length gives the number of bytes compared), \`?\` in the value is a
don't-care nibble, and only bits set in the mask are compared. A clause preceded by \`!\` must
NOT match. A clause whose bytes run past the packet's end does not match (so its negation
does). The pattern \`-\` matches every packet. A packet goes to the output of the first
pattern it matches; a packet matching none is dropped and counted.

Examples: Classifier(12/0800, 12/0806 20/0002, -) sends IPv4 to 0, ARP replies to 1, the
rest to 2. Classifier(12/0800 23/06, 12/0800 !23/06) splits IPv4 TCP from other IPv4.

The patterns are compiled once into an Int32Array program run by \`classifyBatch\` (exported
for the kernel layer), a tight loop over the batch's offset/length columns.

Handlers:
  count (read)         packets classified (sent to some output)
  drops (read)         packets that matched no pattern
  patternK (read)      the text of pattern K, K = 0..N-1
  reset_counts (write) zero the counters`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<ClassifierConfig> = { rest: 'PATTERNS', schema };

  static parseConfig(args: ConfigArgs): ClassifierConfig {
    return parseArgs(args, Classifier.args);
  }

  /** How many outputs a configuration has: one per pattern (the graph checks connections against it). */
  static outputsFor(config: ClassifierConfig): number {
    return config.patterns.length;
  }

  private readonly npatterns = this.config.patterns.length;
  private readonly perPort = new Float64Array(this.config.patterns.length);
  private classified = 0;
  private dropped = 0;

  protected classify(batch: PacketBatch, ports: Int32Array): number {
    const n = batch.count;
    const unmatched = classifyBatch(this.config.program, batch.data, batch.offset, batch.length, n, ports);
    this.dropped += unmatched;
    this.ledger.drop('no_match', unmatched);
    const perPort = this.perPort;
    const before0 = perPort[0];
    for (let i = 0; i < n; i++) if (ports[i] >= 0) perPort[ports[i]]++;
    this.classified = perPort.reduce((a, b) => a + b, 0);
    return n - (perPort[0] - before0);
  }

  /** One output per pattern, whatever is connected. */
  protected override splitOutputs(): number {
    return this.npatterns;
  }

  override handlers(): HandlerTable {
    const t: HandlerTable = {
      count: counterHandler(() => this.classified, 'packets sent to some output'),
      drops: counterHandler(() => this.dropped, 'packets that matched no pattern'),
      reset_counts: actionHandler(() => {
        this.perPort.fill(0);
        this.classified = 0;
        this.dropped = 0;
      }, 'zero count and drops'),
    };
    this.config.patterns.forEach((p, k) => {
      t[`pattern${k}`] = { read: () => p, doc: `pattern of output ${k}` };
    });
    return t;
  }

  override exportState(): ElementState {
    return this.countersState({ count: this.classified, drops: this.dropped, ...Object.fromEntries(Array.from(this.perPort, (v, k) => [`port${k}`, v])) });
  }

  override importState(state: ElementState): void {
    const c = this.importCounters(state);
    this.classified = c.count;
    this.dropped = c.drops;
    this.perPort.forEach((_v, k) => (this.perPort[k] = c[`port${k}`] ?? 0));
  }

  override summary(): Record<string, number> {
    const s: Record<string, number> = { count: this.classified, drops: this.dropped };
    this.perPort.forEach((c, k) => (s[`output${k}`] = c));
    return s;
  }
}
