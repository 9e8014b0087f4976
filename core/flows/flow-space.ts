/**
 * The flows of one running configuration: the flow-local field layout every element declares
 * into, and the flow tables (one per FlowIPManager) downstream elements read by flow id.
 *
 * Elements share one RuntimeEnv object per router, so the space is keyed by it: an element
 * declares its fields in its constructor (every constructor runs before any `initialize`, and
 * the manager builds its table in `initialize`, reserving room for all of them), then finds
 * the table on its first batch, by manager name when a configuration has more than one.
 */
import type { RuntimeEnv } from '../runtime-env.js';
import { FlowLayout } from '../structures/flow-table/flow-fields.js';
import type { FlowTable } from '../structures/flow-table/flow-table.js';

export class FlowSpace {
  readonly layout = new FlowLayout();
  private readonly managers = new Map<string, FlowTable>();

  registerTable(manager: string, table: FlowTable): void {
    this.managers.set(manager, table);
  }

  /** The table of `manager`, or the only one; the error names the element `who` asking. */
  table(who: string, manager?: string): FlowTable {
    if (manager !== undefined) {
      const t = this.managers.get(manager);
      if (t === undefined) throw new Error(`${who}: no FlowIPManager named '${manager}' upstream (have: ${[...this.managers.keys()].join(', ') || 'none'})`);
      return t;
    }
    if (this.managers.size === 1) return this.managers.values().next().value!;
    if (this.managers.size === 0) throw new Error(`${who}: needs a FlowIPManager upstream to classify flows`);
    throw new Error(`${who}: several FlowIPManagers (${[...this.managers.keys()].join(', ')}): name one with MANAGER`);
  }
}

const spaces = new WeakMap<RuntimeEnv, FlowSpace>();

export function flowSpaceOf(env: RuntimeEnv): FlowSpace {
  let s = spaces.get(env);
  if (s === undefined) {
    s = new FlowSpace();
    spaces.set(env, s);
  }
  return s;
}
