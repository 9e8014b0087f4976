/**
 * Test support for live migration: the router pipeline with a gate after the lookup (holds one
 * batch while the test drives a migration: traffic keeps reaching IPLookup up to the scheduler's
 * window, so batches run on the source during pre-copy), a real route table turned into Click
 * routes over two outputs, and a wrapper that makes a real backend fail on demand.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { Element, eraseConfigType, type ElementClass, type ElementOutput } from '../../core/element.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { parseArgs, type ConfigArgs } from '../../core/config/args.js';
import type { ElementClassLookup } from '../../core/graph.js';
import { BackendFailure, type Backend } from '../../core/backend.js';
import { elementLibrary } from '../../elements/index.js';
import { DATA } from '../kernels/fixtures.js';

/** Passes batches on; the test's `hold(n)` may return a promise that holds the n-th batch (0-based) until it settles. */
export class Gate extends Element<Record<string, never>> {
  static readonly className = 'MigrationGate';
  static readonly ports = { inputs: '1', outputs: '1' };
  static readonly manual = 'MigrationGate: holds a batch while a test acts';
  static parseConfig(a: ConfigArgs): Record<string, never> {
    return parseArgs(a, { schema: z.object({}) as z.ZodType<Record<string, never>> });
  }
  hold: (n: number) => Promise<void> | undefined = () => undefined;
  /** Packets passed before the batch now being held (set before `hold` is asked). */
  passedBefore = 0;
  private passed = 0;
  private n = 0;
  process(b: PacketBatch): ElementOutput | Promise<ElementOutput> {
    this.passedBefore = this.passed;
    this.passed += b.count;
    const h = this.hold(this.n++);
    return h === undefined ? [b] : h.then(() => [b]);
  }
}

const testClasses: ElementClass<unknown>[] = [eraseConfigType(Gate)];
export const classes: ElementClassLookup = {
  find: (n) => testClasses.find((c) => c.className === n) ?? elementLibrary.find(n),
  names: () => [...testClasses.map((c) => c.className), ...elementLibrary.names()],
};

/**
 * The first `limit` routes of a real BGP table (LINX, 2017) as Click routes: each keeps its
 * gateway, and goes to output 0 or 1 by a hash of the gateway, so the lookup decides where each
 * packet of the capture leaves.
 */
export function clickRouteFile(limit: number): string {
  const src = path.join(DATA, 'routes', 'preprocessed-ipv4.rib.20170101.0000.txt');
  const lines: string[] = [];
  for (const l of readFileSync(src, 'utf8').split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length < 2 || f[0] === '') continue;
    let h = 0;
    for (const c of f[1]) h = (h * 31 + c.charCodeAt(0)) | 0;
    lines.push(`${f[0]} ${f[1]} ${h & 1}`);
    if (lines.length >= limit) break;
  }
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-mig-')), `routes-${limit}.txt`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** examples/router.click's pipeline, with the gate after the TTL decrement and a ToDump per run. */
export function routerConfig(capture: string, routes: string, output: string, backend?: string): string {
  return `
    src :: FromDump(FILE "${capture}", STOP true);
    cls :: Classifier(12/0800, -);
    chk :: CheckIPHeader;
    rt  :: IPLookup(FIB "${routes}", FORMAT click${backend === undefined ? '' : `, BACKEND ${backend}`});
    ttl :: DecIPTTL;
    out :: ToDump(FILE "${output}");
    src -> rx :: Counter -> cls;
    cls[0] -> Strip(14) -> chk -> rt;
    cls[1] -> nonip :: Discard;
    rt[0] -> lan :: Counter -> ttl;
    rt[1] -> uplink :: Counter -> ttl;
    ttl[0] -> gate :: MigrationGate -> Unstrip(14) -> tx :: Counter -> out;
    ttl[1] -> expired :: Discard;`;
}

export type Fault = 'load' | 'verify' | 'hang';

/**
 * A real backend that fails the way a test asks: 'load' loads the image for real, then reports
 * the device lost (mid-copy); 'verify' hands back its image with one word changed; 'hang' never
 * answers the load. Everything else is the real backend's.
 */
export function failing(real: Backend, fault: Fault): Backend {
  return {
    name: real.name,
    ...(real.variant === undefined ? {} : { variant: real.variant }),
    detect: () => real.detect(),
    async loadStructure(kind, image, generation) {
      if (fault === 'hang') return new Promise(() => undefined);
      const h = await real.loadStructure(kind, image, generation);
      if (fault !== 'load') return h;
      await real.releaseStructure(h);
      throw new BackendFailure(real.name, 'device lost during the copy (injected)');
    },
    applyDelta: (h, d) => real.applyDelta(h, d),
    async readStructure(h) {
      const words = await real.readStructure(h);
      if (fault !== 'verify') return words;
      const w = words.slice();
      w[w.length >> 1] ^= 1;
      return w;
    },
    releaseStructure: (h) => real.releaseStructure(h),
    runKernel: (k, io, s, p) => real.runKernel(k, io, s, p),
    costs: (k) => real.costs(k),
    // The registry disposes the real backend; the wrapper owns nothing.
    dispose: () => Promise.resolve(),
  };
}
