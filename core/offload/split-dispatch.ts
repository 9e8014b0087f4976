/**
 * Split dispatch: which part of a split placement (`PLACE webgpu:0.7,cpu`) runs the next batch.
 *
 * A credit counter (smooth weighted round robin): before each batch every part earns its weight
 * in credit, the part with the most credit runs the batch and pays 1. Over any n batches a
 * part's count differs from n * weight by less than 1, the sequence depends on nothing but the
 * weights (so a run is reproducible), and the parts interleave instead of running in bursts.
 * Whole batches move, never packets: each part keeps its full batch size (its launch cost is
 * paid on its share of the batches only), and outputs stay in sequence order because the
 * scheduler delivers an element's outputs in order whatever finishes first.
 */
import type { HandlerTable } from '../handlers.js';

export interface SplitPart {
  /** `backend` or `backend/variant`. */
  label: string;
  /** Share of the batches, (0, 1); the parts' weights sum to 1. */
  weight: number;
}

export interface SplitPartCounts extends SplitPart {
  batches: number;
  items: number;
}

export class SplitDispatch {
  private readonly parts: SplitPartCounts[];
  private readonly credit: number[];

  /**
   * `previous`: counts of the split this one replaces (a live migration to new shares); a part
   * with the same label carries its batches and packets on. The credits start over.
   */
  constructor(parts: readonly SplitPart[], previous: readonly SplitPartCounts[] = []) {
    if (parts.length < 2) throw new Error(`a split needs two parts or more, got ${parts.length}`);
    const sum = parts.reduce((s, p) => s + p.weight, 0);
    if (parts.some((p) => !(p.weight > 0)) || Math.abs(sum - 1) > 1e-9) throw new Error(`split weights must be positive and sum to 1 (${parts.map((p) => p.weight).join(' + ')})`);
    this.parts = parts.map((p) => {
      const before = previous.find((q) => q.label === p.label);
      return { label: p.label, weight: p.weight, batches: before?.batches ?? 0, items: before?.items ?? 0 };
    });
    this.credit = parts.map(() => 0);
  }

  /** The part (index) that runs the next batch of `items` packets; counts it. */
  pick(items: number): number {
    let best = 0;
    for (let i = 0; i < this.parts.length; i++) {
      this.credit[i] += this.parts[i].weight;
      // Ties go to the earlier part, so the sequence is fixed by the weights alone.
      if (this.credit[i] > this.credit[best] + 1e-12) best = i;
    }
    this.credit[best] -= 1;
    const p = this.parts[best];
    p.batches++;
    p.items += items;
    return best;
  }

  counts(): readonly SplitPartCounts[] {
    return this.parts;
  }

  /** `PLACE`'s own notation: `webgpu:0.7,cpu:0.3`. */
  label(): string {
    return this.parts.map((p) => `${p.label}:${round(p.weight)}`).join(',');
  }

  /** One line per part: `LABEL share W batches N items N`. */
  text(): string {
    return this.parts.map((p) => `${p.label} share ${round(p.weight)} batches ${p.batches} items ${p.items}\n`).join('');
  }

  handlers(): HandlerTable {
    return { split: { read: () => this.text(), doc: 'split placement: per part its share, batches and packets run there' } };
  }

  /** Summary counters: `split` (the placement) and `split_LABEL_batches` per part. */
  summary(): Record<string, number | string> {
    const out: Record<string, number | string> = { split: this.label() };
    for (const p of this.parts) out[`split_${p.label}_batches`] = p.batches;
    return out;
  }
}

function round(w: number): string {
  return String(Math.round(w * 1e6) / 1e6);
}
