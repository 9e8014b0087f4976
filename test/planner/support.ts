/**
 * Planner test support: a configuration's graph built from text, backends described by hand
 * (available or not, with the reason), and costs from a costs-file object, so every expected
 * figure in the tests can be worked out on paper.
 */
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { buildPlacementProblem, type BackendOption, type PlacementProblem } from '../../core/planner/placement-problem.js';

export function graphOf(text: string) {
  return Router.fromText(text, 'plan-test.click', elementLibrary).graph;
}

/** A backend whose costs come only from the costs file (its own costs() has none). */
export function option(backend: string, unavailable?: string): BackendOption {
  return {
    backend,
    availability: unavailable === undefined ? { available: true } : { available: false, reason: unavailable },
    costs: () => undefined,
  };
}

export interface Costs {
  perItemNs: number;
  perBatchNs: number;
  perByteTransferNs?: number;
  capacityBytes?: number;
}

/** A costs file (as the JSON `--costs` takes) for one kernel on several backends; host elements free. */
export function costsFile(kernel: string, byBackend: Record<string, Costs>): unknown {
  return {
    profiles: Object.entries(byBackend).map(([backend, c]) => ({
      kernel,
      backend,
      perItemNs: c.perItemNs,
      perBatchNs: c.perBatchNs,
      perByteTransferNs: c.perByteTransferNs ?? 0,
      capacityBytes: c.capacityBytes ?? 2 ** 30,
    })),
    hostElements: { default: { perItemNs: 0, perBatchNs: 0 } },
  };
}

export function problemOf(config: string, file: unknown, backends: BackendOption[] = [option('cpu'), option('null')]): PlacementProblem {
  const book = new CostBook(parseCostsFile(JSON.stringify(file), 'costs.json'));
  return buildPlacementProblem({ graph: graphOf(config), backends, book, hasForm: () => true });
}

/** Idle -> one FlowHash -> Discard: flow-hash moves 4 input and 1 output columns, 20 bytes a packet. */
export const ONE_FLOW_HASH = 'Idle -> fh :: FlowHash -> Discard;\n';

/** A chain of `n` FlowHash elements (fh0 .. fh{n-1}). */
export function flowHashChain(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `fh${i} :: FlowHash`);
  return `Idle -> ${names.join(' -> ')} -> Discard;\n`;
}
