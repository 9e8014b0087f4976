/**
 * Paint(COLOR [, ANNO], keyword ANNO)
 *
 * Ports: 1 input, 1 output.
 *
 * Sets an annotation of every packet to COLOR. By default the annotation is `paint` (Click's
 * paint annotation). ANNO names another annotation column, which is how a configuration
 * chooses the FIB of a multi-FIB lookup: `Paint(2, ANNO vrf)` makes the lookup use FIB 2.
 * Annotation names are identifiers (letters, digits, `_`); COLOR is 0..2147483647.
 *
 * Handlers:
 *   color (read/write)  the value written (a write is validated and applies to later batches)
 *   count (read)        packets painted
 */
import { z } from 'zod';
import { SimpleElement } from '../core/element-helpers/simple-element.js';
import { statePart, type ElementDeclaration, type ElementState } from '../core/element-state.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import type { HandlerTable } from '../core/handlers.js';
import { counterHandler, parseHandlerValue } from './lib/handler-helpers.js';

export interface PaintConfig {
  COLOR: number;
  ANNO: string;
}

const colorSchema = arg.int(0, 2 ** 31 - 1);
const schema = z.object({
  COLOR: colorSchema,
  ANNO: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an annotation name such as paint or vrf')
    .default('paint'),
});

export class Paint extends SimpleElement<PaintConfig> {
  static readonly className = 'Paint';
  static readonly ports = { inputs: '1', outputs: '1' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [],
    state: [
      { kind: 'counters', name: 'counters', counters: ['count'], doc: 'packets painted' },
      { kind: 'settings', name: 'settings', settings: ['color'], doc: 'the color, writable by handler' },
    ],
  };
  static readonly manual = `Paint(COLOR [, ANNO], keyword ANNO)

Ports: 1 input, 1 output.

Sets an annotation of every packet to COLOR. By default the annotation is \`paint\` (Click's
paint annotation). ANNO names another annotation column, which is how a configuration
chooses the FIB of a multi-FIB lookup: \`Paint(2, ANNO vrf)\` makes the lookup use FIB 2.
Annotation names are identifiers (letters, digits, \`_\`); COLOR is 0..2147483647.

Handlers:
  color (read/write)  the value written (a write is validated and applies to later batches)
  count (read)        packets painted`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<PaintConfig> = { positional: ['COLOR', 'ANNO'], keywords: ['COLOR', 'ANNO'], schema };

  static parseConfig(args: ConfigArgs): PaintConfig {
    return parseArgs(args, Paint.args);
  }

  private color = this.config.COLOR;
  private painted = 0;

  protected override action(batch: PacketBatch): void {
    batch.anno(this.config.ANNO).fill(this.color, 0, batch.count);
    this.painted += batch.count;
  }

  override handlers(): HandlerTable {
    return {
      color: {
        read: () => String(this.color),
        write: (v) => {
          this.color = parseHandlerValue('color', colorSchema, v);
        },
        doc: `value written to the '${this.config.ANNO}' annotation`,
      },
      count: counterHandler(() => this.painted, 'packets painted'),
    };
  }

  override exportState(): ElementState {
    return this.stateHeader({ counters: { kind: 'counters', values: { count: this.painted } }, settings: { kind: 'settings', values: { color: this.color } } });
  }

  override importState(state: ElementState): void {
    this.checkStateHeader(state);
    const count = statePart(this.name, state, 'counters', 'counters').values.count ?? 0;
    const color = parseHandlerValue('color', colorSchema, String(statePart(this.name, state, 'settings', 'settings').values.color));
    this.painted = count;
    this.color = color;
  }

  override summary(): Record<string, number> {
    return { count: this.painted, color: this.color };
  }
}
