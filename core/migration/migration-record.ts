/** One migration's outcome and figures: the `migrations` handler's lines and the run summary. */

export interface MigrationRecord {
  /** 1, 2, ... per element. */
  id: number;
  from: string;
  to: string;
  status: 'done' | 'rolled back';
  /** Why it rolled back; null when done. */
  reason: string | null;
  /** Image words loaded on the target plus delta words forwarded to it during pre-copy, in bytes. */
  bytesCopied: number;
  /** Deltas published during pre-copy and applied on the target as well as the source. */
  deltas: number;
  /** From the request to the start of the stop phase (target opened, loaded, caught up, read back). */
  precopyMs: number;
  /** Stop phase: final generation check, checksum (or word-for-word) compare and the switch; nothing else runs meanwhile. */
  pauseMs: number;
  /** From the request to the source released (or to the rollback). */
  totalMs: number;
  /** Batches started on the source before the switch that finished there after it. */
  batchesDrained: number;
  /** Structure generation at the switch (of the first structure). */
  generation: number;
  /** How the stop phase checked the target: incremental checksums (O(1)) or a word-for-word compare (tests). */
  verification: 'checksum' | 'words';
  /** Batch latency (ms) p50/p99 of the batches before the migration and of those that ran during it; null where the element records none. */
  delay: { steadyP50: number; steadyP99: number; duringP50: number; duringP99: number; batches: number } | null;
  /**
   * Where a split is involved: what moved and what did not (`no state moved: ...` for a change
   * of shares between the same parts, `kept webgpu` for a part whose runner and image stay).
   */
  note?: string;
}

/** One line: `#1 cpu -> webgpu done bytes 1234 deltas 2 precopy_ms 3.1 pause_ms 0.2 total_ms 4.0 drained 1 generation 7`. */
export function formatMigration(m: MigrationRecord): string {
  const figures = `bytes ${m.bytesCopied} deltas ${m.deltas} precopy_ms ${m.precopyMs.toFixed(1)} pause_ms ${m.pauseMs.toFixed(2)} total_ms ${m.totalMs.toFixed(1)}`;
  const d = m.delay;
  const delay = d === null || d.batches === 0 ? '' : ` batch_ms_p50 ${d.steadyP50.toFixed(2)}->${d.duringP50.toFixed(2)} p99 ${d.steadyP99.toFixed(2)}->${d.duringP99.toFixed(2)}`;
  const note = m.note === undefined ? '' : `; ${m.note}`;
  if (m.status === 'done') return `#${m.id} ${m.from} -> ${m.to} done ${figures} drained ${m.batchesDrained} generation ${m.generation}${delay}${note}`;
  return `#${m.id} ${m.from} -> ${m.to} rolled back ${figures}${note}: ${m.reason ?? ''}`;
}
