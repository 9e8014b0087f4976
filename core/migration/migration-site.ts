/**
 * What live migration needs from an element that runs a kernel through an offload runner: its
 * structures (image, generation, deltas as the element publishes them), where it runs now, and
 * one synchronous seam to change that. The migrator (migrator.ts) drives any element that
 * offers this; IPLookup is the first.
 */
import type { BackendName, KernelIo } from '../backend.js';
import type { KernelStats } from '../kernel-stats.js';
import type { OffloadRunner, OffloadOptions } from '../offload/offload-runner.js';
import type { ImageDelta, StructureKind } from '../structures/image.js';
import type { BatchLatencies } from './batch-latencies.js';
import type { PlacedPart } from './placement.js';

/** One structure the kernel reads, in the order the kernel's contract lists state (the runner's index). */
export interface MigratedStructure {
  kind: StructureKind;
  /** The element's image now: the host copy, the truth a target is verified against (a view: copy to keep). */
  image(): Uint32Array;
  generation(): number;
  /**
   * For an element that publishes its writes in batches (a flow table: classification and every
   * flow element's fields write the image, the element publishes a delta once per batch):
   * publish what is pending now, so image() is at generation(). Absent: every write is published
   * as it is made.
   */
  flush?(): void;
  /** Every delta the element publishes from now on, in commit order; returns the unsubscribe. */
  onDelta(fn: (delta: ImageDelta) => void): () => void;
}

export interface MigrationSite {
  /** Element name, for log lines and errors. */
  owner: string;
  kernel: string;
  env: OffloadOptions['env'];
  maxInFlight: number;
  stats?: KernelStats;
  structures: readonly MigratedStructure[];
  /** The element's batch latencies, for the delay a migration adds (p50/p99 during vs before); none: not reported. */
  latencies?: BatchLatencies;
  /** Columns for one small kernel run the target makes during pre-copy (its first batch then pays no compile); none: no warm-up. */
  warmUpIo?: () => KernelIo;
  /** The runner every batch started now goes through; null when the element runs the cpu form inline. */
  current(): OffloadRunner | null;
  /**
   * Make `runner` (null: inline cpu) the one for every batch started from now on. Synchronous, so
   * it falls between two batches: those already started keep the runner they began on.
   */
  install(runner: OffloadRunner | null): void;
  /**
   * An element that can run a split placement (its batches shared between parts by a credit
   * counter): the parts now (null when not split), and the seam that puts a split in place,
   * synchronous like `install` (which ends a split). Absent: a split target is refused.
   */
  split?: {
    parts(): readonly PlacedPart[] | null;
    install(parts: readonly PlacedPart[]): void;
  };
}

/**
 * Where a kernel can move: a backend name ('cpu' is the inline cpu form, no runner), or on an
 * element with a split seam a split (`webgpu:0.7,cpu`, placement.ts).
 */
export type MigrationTarget = BackendName;
