/** Run summaries compared across placements: every counter, without the fields that say where a kernel ran (a split's included). */
import type { RunSummary } from '../../core/router.js';

const PLACEMENT = new Set(['backend', 'backend_requested', 'backend_fallback', 'kernel_batches', 'kernel_items', 'location', 'migrations', 'migrations_rolled_back', 'migration_rollback', 'rate', 'device_hits']);

export function placementFree(s: RunSummary): Record<string, Record<string, number | string>> {
  return Object.fromEntries(s.elements.map((e) => [e.name, Object.fromEntries(Object.entries(e.counters).filter(([k]) => !PLACEMENT.has(k) && k !== 'split' && !k.startsWith('split_')))]));
}
