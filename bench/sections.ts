/** The benchmark sections `npm run bench` runs, in order (`--only NAME` picks some). */
import type { BenchReport } from './report.js';
import { run as pipeline } from './pipeline.js';
import { run as pcap } from './pcap-read.js';
import { run as elements } from './elements.js';
import { run as multiFib } from './multi-fib.js';
import { run as lookupWalks } from './lookup-walks.js';
import { run as backends } from './backends.js';
import { run as fpga } from './fpga.js';
import { run as live } from './live.js';
import { run as flows } from './flows.js';
import { run as migration } from './migration.js';
import { run as datapath } from './datapath.js';
import { run as ab } from './datapath-ab.js';
import { run as planner } from './planner.js';
import { run as splitMigration } from './split-migration.js';

/** Command-line settings a section may use. */
export interface BenchOptions {
  /** Git ref of the tree A/B sections compare against (`--baseline REF`). */
  baseline?: string;
}

export interface BenchSectionModule {
  name: string;
  run: (report: BenchReport, options: BenchOptions) => Promise<void>;
}

export const sections: readonly BenchSectionModule[] = [
  { name: 'pipeline', run: pipeline },
  { name: 'pcap', run: pcap },
  { name: 'elements', run: elements },
  { name: 'multi-fib', run: multiFib },
  { name: 'lookup-walks', run: lookupWalks },
  { name: 'backends', run: backends },
  { name: 'fpga', run: fpga },
  { name: 'live', run: live },
  { name: 'flows', run: flows },
  { name: 'migration', run: migration },
  { name: 'datapath', run: datapath },
  { name: 'ab', run: ab },
  { name: 'planner', run: planner },
  { name: 'split-migration', run: splitMigration },
];
