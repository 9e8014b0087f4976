/**
 * `hetbox run --adapt`'s start: the planner's inputs (costs file, backend list, calibration
 * store) and the AdaptiveRun over them. A module of its own that run-command imports only
 * under --adapt, so that a plain run does not load the planner, the plan command and
 * @viz-js behind it (see test/cli/run-imports.test.ts).
 */
import { readFileSync } from 'node:fs';
import type { Router } from '../../core/router.js';
import { AdaptiveRun } from './adaptive-run.js';
import { backendList, backendOptions } from './plan-command.js';
import { CostBook, parseCostsFile } from '../../core/planner/cost-profile.js';
import { calibrationFile, readCalibrationStore } from '../../core/planner/calibration-store.js';
import { UsageError } from './usage-error.js';

export interface AdaptiveStartFlags {
  every: number;
  threshold: number;
  dwell: number;
  batch: number;
  splits: boolean;
  /** --costs FILE and --backends LIST, as given. */
  costs: string | undefined;
  backends: string | undefined;
}

export async function startAdaptiveRun(router: Router, flags: AdaptiveStartFlags): Promise<AdaptiveRun> {
  const costs = flags.costs === undefined ? undefined : parseCostsFile(readCostsFile(flags.costs), flags.costs);
  const names = backendList(flags.backends, costs, new Set(router.graph.nodes.flatMap((n) => (n.place === undefined ? [] : [n.place.backend]))));
  const stored = readCalibrationStore(calibrationFile(process.env));
  return AdaptiveRun.start(router, {
    every: flags.every,
    adapt: { threshold: flags.threshold, dwell: flags.dwell },
    // Re-plans may choose a split (or new shares for one): live migration carries splits out too.
    search: { objective: 'throughput', batch: flags.batch, splits: flags.splits },
    backends: await backendOptions(names, stored.store),
    book: new CostBook(costs),
  });
}

function readCostsFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--costs: cannot read ${file}: ${(e as Error).message}`);
  }
}
