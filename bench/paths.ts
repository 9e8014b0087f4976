/** Where the project and the shared data are, from source (vitest) or from dist/ alike. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** The directory holding hetbox's package.json, found by walking up from this module. */
export function projectRoot(): string {
  if (root !== null) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the hetbox project root (package.json)');
    dir = up;
  }
  root = dir;
  return dir;
}

/** A file under ../shared/data, beside the project. */
export function sharedData(rel: string): string {
  const p = path.join(projectRoot(), '..', 'shared', 'data', rel);
  if (!existsSync(p)) throw new Error(`shared data missing: ${p} (benchmarks read ../shared/data beside the project)`);
  return p;
}
