/**
 * The device figures every fpga kernel form returns for a batch: the simulator's cycle counts
 * and the time they project to at the configured clock. One definition, so `kernel_stats`
 * reads the same for every design (`perItem` names the per-item figure: cyclesPerLookup, ...).
 */
import type { LookupBatchResult } from '../fpga-backend.js';

export function pipelineFigures(r: LookupBatchResult, count: number, clockMHz: number, perItem: string): Record<string, number> {
  return {
    cycles: r.cycles,
    issueCycles: r.issueCycles,
    latencyCycles: r.maxLatency,
    minLatencyCycles: r.minLatency,
    [perItem]: count > 0 ? r.issueCycles / count : 0,
    projectedNs: (r.cycles * 1000) / clockMHz,
  };
}
