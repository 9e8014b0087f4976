/**
 * Run statistics per (kernel, backend, variant): batches, items, host time and the sums of the
 * device figures each run reported (simulated cycles, GPU time). Elements keep one for their
 * `kernel_stats` handler; every backend keeps one for `costs(kernel)`.
 */
import type { BackendName, KernelRunStats } from './backend.js';

export interface KernelStatsEntry {
  kernel: string;
  backend: BackendName;
  variant?: string;
  batches: number;
  items: number;
  hostMs: number;
  /** Sum of each device figure over the runs that reported it. */
  device: Record<string, number>;
}

export class KernelStats {
  private readonly entries = new Map<string, KernelStatsEntry>();

  record(kernel: string, backend: BackendName, variant: string | undefined, items: number, stats: KernelRunStats): void {
    const e = this.entry(kernel, backend, variant);
    e.batches++;
    e.items += items;
    e.hostMs += stats.hostMs;
    if (stats.device !== undefined) for (const [k, v] of Object.entries(stats.device)) e.device[k] = (e.device[k] ?? 0) + v;
  }

  /** The entry of (kernel, backend, variant), created empty on first use; an inline path keeps it and adds to it directly. */
  entry(kernel: string, backend: BackendName, variant?: string): KernelStatsEntry {
    const key = `${kernel}@${backend}${variant === undefined ? '' : `/${variant}`}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { kernel, backend, ...(variant === undefined ? {} : { variant }), batches: 0, items: 0, hostMs: 0, device: {} };
      this.entries.set(key, e);
    }
    return e;
  }

  get(kernel: string, backend: BackendName, variant?: string): KernelStatsEntry | undefined {
    return this.entries.get(`${kernel}@${backend}${variant === undefined ? '' : `/${variant}`}`);
  }

  all(): KernelStatsEntry[] {
    return [...this.entries.values()];
  }

  /** One line per (kernel, backend[/variant]): `KERNEL BACKEND batches N items N host_ms X [figure sum ...]`. */
  text(): string {
    return this.all()
      .map((e) => {
        const dev = Object.entries(e.device).map(([k, v]) => ` ${k} ${round(v)}`).join('');
        return `${e.kernel} ${e.backend}${e.variant === undefined ? '' : `/${e.variant}`} batches ${e.batches} items ${e.items} host_ms ${round(e.hostMs)}${dev}\n`;
      })
      .join('');
  }
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
