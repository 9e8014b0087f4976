/**
 * Every fuzz target in `test/fuzz/targets/`, found by reading the directory, so a target added
 * there runs in the CI corpus and under `npm run fuzz` without editing either.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FuzzTarget } from './fuzz-target.js';

export const TARGETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'targets');

/** Target module files (`.ts` under vitest, `.js` once compiled for `npm run fuzz`). */
export function targetFiles(dir = TARGETS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

export async function loadTarget(file: string): Promise<FuzzTarget<unknown>> {
  const mod = (await import(pathToFileURL(file).href)) as { target?: FuzzTarget<unknown> };
  if (mod.target === undefined || typeof mod.target.check !== 'function') throw new Error(`${file}: a fuzz target module exports 'target' (a FuzzTarget)`);
  return mod.target;
}
