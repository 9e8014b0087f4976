/**
 * The benchmark report: every section prints ratios against a baseline measured in the same
 * run, and the whole report (with the machine it ran on) is written to bench/out/report.json.
 */
import os from 'node:os';
import { memoryReuseNote } from '../app/memory-reuse.js';
import { fmt } from '../core/format.js';

export { fmt };

export interface BenchRow {
  /** What was measured, e.g. 'router pipeline' or 'lookup cpu batch=4096'. */
  name: string;
  /** Primary figure and its unit, e.g. 4.2e6 'pkt/s'. */
  value: number;
  unit: string;
  /** Name of the baseline row this one is compared with (same section, same run). */
  baseline?: string;
  /** value / baseline value, filled in by the report. */
  ratio?: number;
  extra?: Record<string, number | string | boolean>;
}

export interface BenchSection {
  title: string;
  rows: BenchRow[];
  notes: string[];
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** How the process treats freed memory (app/memory-reuse.ts): page faults dominate short runs on some machines. */
  memory: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    memory: memoryReuseNote(),
  };
}

export class BenchReport {
  readonly machine = machineInfo();
  readonly sections: BenchSection[] = [];

  section(title: string): BenchSection {
    const s: BenchSection = { title, rows: [], notes: [] };
    this.sections.push(s);
    return s;
  }

  /** Add a row; when `baseline` names an earlier row of the section, its ratio is computed. */
  add(section: BenchSection, row: BenchRow): BenchRow {
    if (row.baseline !== undefined) {
      const b = section.rows.find((r) => r.name === row.baseline);
      if (b === undefined) throw new Error(`bench: baseline '${row.baseline}' not found in section '${section.title}'`);
      row.ratio = row.value / b.value;
    }
    section.rows.push(row);
    const ratio = row.ratio !== undefined ? `  (${row.ratio.toFixed(2)}x ${row.baseline})` : '';
    const extra = row.extra ? '  ' + Object.entries(row.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(' ') : '';
    process.stdout.write(`  ${row.name.padEnd(48)} ${fmt(row.value).padStart(12)} ${row.unit}${ratio}${extra}\n`);
    return row;
  }

  note(section: BenchSection, text: string): void {
    section.notes.push(text);
    process.stdout.write(`  note: ${text}\n`);
  }

  toJSON(): object {
    return { date: new Date().toISOString(), machine: this.machine, sections: this.sections };
  }
}

/** Time `fn` repeatedly for at least `minMs`; returns operations per second given `opsPerCall`. */
export async function measureRate(fn: () => unknown | Promise<unknown>, opsPerCall: number, minMs = 500): Promise<{ rate: number; calls: number; ms: number }> {
  await fn();
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    await fn();
    calls++;
    t = performance.now();
  }
  const ms = t - t0;
  return { rate: (calls * opsPerCall) / (ms / 1000), calls, ms };
}
