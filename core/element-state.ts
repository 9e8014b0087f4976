/**
 * What an element class declares statically, and the state an instance hands to a replacement
 * (Click's take_state). The declaration says which kernels the element runs and which state it
 * owns, so a planner reads it from the class without initializing an element, and a migration
 * knows what to carry: structures (a multi-FIB: its route set and image), counters, held
 * packets, settings changed at run time by handlers.
 *
 * Export/import: `exportState()` snapshots an instance; `importState(state)` on a fresh instance
 * of the same class and compatible configuration takes it over, or throws StateError naming
 * the element and why (another class, another configuration, more packets than fit).
 */
import type { PacketBatch } from './packet-batch.js';
import type { StructureKind } from './structures/image.js';

export type StateDeclaration =
  /** A virtualized structure the element owns (held on a backend when its kernel is offloaded). */
  | { readonly kind: 'structure'; readonly name: string; readonly structure: StructureKind; readonly doc: string }
  /** Counters (the names its handlers and run summary use). */
  | { readonly kind: 'counters'; readonly name: string; readonly counters: readonly string[]; readonly doc: string }
  /** Packets held across batches (a queue's). */
  | { readonly kind: 'packets'; readonly name: string; readonly doc: string }
  /** Values a handler may change at run time (a queue's capacity, a Paint's color). */
  | { readonly kind: 'settings'; readonly name: string; readonly settings: readonly string[]; readonly doc: string };

export interface ElementDeclaration {
  /** Kernels (kernel registry names) the element runs, offloadable to a backend. */
  readonly kernels: readonly string[];
  readonly state: readonly StateDeclaration[];
}

/** One part of an exported state, keyed by its declaration's name. */
export type StatePart =
  | { kind: 'structure'; structure: StructureKind; generation: number; image: Uint32Array; logical: unknown }
  | { kind: 'counters'; values: Record<string, number> }
  | { kind: 'packets'; batch: PacketBatch | null }
  | { kind: 'settings'; values: Record<string, number | string> };

export interface ElementState {
  className: string;
  /** The configuration as it bears on the state (placement keywords such as BACKEND left out). */
  config: string;
  parts: Record<string, StatePart>;
}

export class StateError extends Error {
  constructor(element: string, message: string) {
    super(`${element}: cannot take state: ${message}`);
    this.name = 'StateError';
  }
}

/** The configuration as compared on import: JSON with `ignore`d keys (placement, sizes an import may change) left out. */
export function stateConfig(config: unknown, ignore: readonly string[] = []): string {
  if (config === null || typeof config !== 'object') return JSON.stringify(config ?? null);
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!ignore.includes(k)) kept[k] = v;
  return JSON.stringify(kept);
}

/** The part named `name` of `state`, of the declared kind; StateError when it is missing or of another kind. */
export function statePart<K extends StatePart['kind']>(element: string, state: ElementState, name: string, kind: K): Extract<StatePart, { kind: K }> {
  const p = state.parts[name];
  if (p === undefined || p.kind !== kind) throw new StateError(element, `state has no ${kind} part '${name}'`);
  return p as Extract<StatePart, { kind: K }>;
}
