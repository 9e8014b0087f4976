/**
 * `hetbox run --migrate ELEMENT=BACKEND@PACKETS` (repeatable): scripted live migrations (BACKEND
 * may be a split, `rt=webgpu:0.7,cpu@1000`, for an element that can run one). Each one
 * starts once the sources have read PACKETS packets; they run one after another in PACKETS
 * order (a trigger due while another migration runs waits for it: queued, never interleaved).
 */
import type { Router } from '../../core/router.js';
import type { SchedulerStats } from '../../core/scheduler.js';
import { migrateElement } from '../../core/migration/migrate-element.js';
import { parseBackendName } from './backend-access.js';
import { UsageError } from './usage-error.js';
import { parsePlacement, placementLabel } from '../../core/migration/placement.js';

export interface MigrateTrigger {
  element: string;
  to: string;
  packets: number;
}

export function parseMigrateFlag(text: string): MigrateTrigger {
  const m = /^([^=@\s]+)=([^=@\s]+)@(\d+)$/.exec(text.trim());
  if (m === null) throw new UsageError(`--migrate: expected ELEMENT=BACKEND@PACKETS (e.g. rt=fpga@10000), got '${text}'`);
  let to: string;
  if (/[:,]/.test(m[2])) {
    try {
      to = placementLabel(parsePlacement(m[2]));
    } catch (e) {
      throw new UsageError(`--migrate ${text}: ${(e as Error).message}`);
    }
    return { element: m[1], to, packets: Number(m[3]) };
  }
  try {
    to = parseBackendName(m[2]);
  } catch {
    throw new UsageError(`--migrate ${text}: unknown backend '${m[2]}'`);
  }
  return { element: m[1], to, packets: Number(m[3]) };
}

/** Fires the triggers from the scheduler's progress; `settled()` once every started one has ended. */
export class MigrationScript {
  private readonly pending: MigrateTrigger[];
  private chain: Promise<void> = Promise.resolve();
  private router: Router | null = null;

  constructor(triggers: readonly MigrateTrigger[]) {
    this.pending = [...triggers].sort((a, b) => a.packets - b.packets);
    this.total = triggers.length;
  }

  /** Whether any --migrate was given (the summary is then refreshed after they settle). */
  get requested(): boolean {
    return this.total > 0;
  }

  private readonly total: number;

  attach(router: Router): void {
    this.router = router;
    // Elements named must exist before the run starts, not when the trigger fires.
    for (const t of this.pending) if (!router.graph.byName.has(t.element)) throw new UsageError(`--migrate: no element named '${t.element}'`);
  }

  /** The scheduler's onBatchDone: starts every trigger whose packet count the sources reached. */
  progress(stats: SchedulerStats): void {
    const router = this.router;
    if (router === null) return;
    while (this.pending.length > 0 && this.pending[0].packets <= stats.packetsIn) {
      const t = this.pending.shift()!;
      const log = router.env.log;
      this.chain = this.chain.then(() =>
        // The migrator logs each outcome (done: info; rolled back: a warning with the reason).
        migrateElement(router, t.element, t.to).then(
          () => undefined,
          (e: unknown) => log.warn(`--migrate ${t.element}=${t.to}@${t.packets}: ${e instanceof Error ? e.message : String(e)}`),
        ),
      );
    }
  }

  /** After the run: wait for started migrations; say which triggers the input never reached. */
  async settled(packetsRead: number): Promise<void> {
    await this.chain;
    for (const t of this.pending.splice(0)) this.router?.env.log.warn(`--migrate ${t.element}=${t.to}@${t.packets}: not started, the sources read ${packetsRead} packets`);
  }
}
