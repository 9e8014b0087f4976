/** Shared pieces of the fpga tests: data paths, tables as MultiFib images, the CI rule. */
import fs from 'node:fs';
import path from 'node:path';
import type { Availability } from '../../core/backend.js';
import { MultiFib, type RouteColumns } from '../../core/structures/multi-fib/multi-fib.js';
import { parseRoutes, type Route } from './image-builder.js';

export const DATA = path.resolve(import.meta.dirname, '../../../shared/data');

export function loadRoutes(file: string): Route[] {
  return parseRoutes(fs.readFileSync(path.join(DATA, 'routes', file), 'utf8'));
}

export const LINX_DATES = ['20170101.0000', '20170109.1600', '20170112.0800'];

export function linxFibs(): Route[][] {
  return LINX_DATES.map((d) => loadRoutes(`preprocessed-ipv4.rib.${d}.txt`));
}

function columns(routes: readonly Route[]): RouteColumns {
  const c: RouteColumns = { count: routes.length, prefix: new Int32Array(routes.length), len: new Uint8Array(routes.length), nh: new Int32Array(routes.length) };
  routes.forEach((r, i) => {
    c.prefix[i] = r.addr | 0;
    c.len[i] = r.len;
    c.nh[i] = r.nextHop;
  });
  return c;
}

/** The project's own builder (MultiFib) over `fibs`. */
export function multiFibOf(fibs: readonly (readonly Route[])[]): MultiFib {
  return new MultiFib(
    fibs.map((_f, i) => `fib${i}`),
    fibs.map((f) => columns(f)),
  );
}

/** Under CI=true a missing Verilator fails the test; elsewhere the test skips with a loud warning. */
export function requireFpga(a: Availability): boolean {
  if (a.available) return true;
  if (process.env.CI === 'true') throw new Error(`CI: the fpga backend (Verilator) must be available: ${a.reason}`);
  console.warn(`\n!!! SKIPPING fpga tests: ${a.reason}\n`);
  return false;
}

/** The shared xorshift32 generator, under the name these tests use. */
export { rng as seeded } from '../multi-fib/naive-lpm.js';

/** First index where `got` and `want` differ, described; null when they agree on `count` items. */
export function firstMismatch(got: Int32Array, want: Int32Array, dst: Int32Array, vrf: Int32Array, count: number): string | null {
  for (let i = 0; i < count; i++) {
    if (got[i] !== want[i]) return `item ${i} (dst 0x${(dst[i] >>> 0).toString(16)}, vrf ${vrf[i]}): fpga ${got[i]}, lookupImage ${want[i]}`;
  }
  return null;
}
