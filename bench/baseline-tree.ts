/**
 * A baseline tree for A/B benchmarks: git ref REF checked out with `git worktree add --detach`
 * into .cache/baseline-REF (ignored by git), its node_modules a link to this project's, built
 * once with this project's TypeScript (tsc -p tsconfig.json); a stamp file holding the commit
 * marks a finished build, so later runs reuse it. Never throws: a baseline that cannot be had
 * (no git, a shallow clone without the commit, a failed build) comes back as the reason, which
 * the bench prints on its rows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './paths.js';

/** The commit issue 14's A/B rows compare against: main before the data-path work. */
export const DEFAULT_BASELINE_REF = '2e5b97f';

export type BaselineTree = { ok: true; ref: string; commit: string; root: string; built: 'now' | 'before' } | { ok: false; ref: string; reason: string };

const STAMP = '.hetbox-bench-built';

function git(cwd: string, ...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.error !== undefined) return { ok: false, out: r.error.message };
  return { ok: r.status === 0, out: (r.status === 0 ? r.stdout : `${r.stderr}${r.stdout}`).trim() };
}

export function baselineTree(ref: string = DEFAULT_BASELINE_REF): BaselineTree {
  const root = projectRoot();
  const rev = git(root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  if (!rev.ok) return { ok: false, ref, reason: rev.out === '' ? `git cannot resolve ${ref} here (a shallow clone?)` : `git rev-parse ${ref}: ${rev.out}` };
  const commit = rev.out;
  const dir = path.join(root, '.cache', `baseline-${ref.replace(/[^A-Za-z0-9._-]/g, '_')}`);
  const stamp = path.join(dir, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === commit) return { ok: true, ref, commit, root: dir, built: 'before' };
  if (existsSync(dir)) {
    // A half-made tree from an interrupted run (or another commit under the same name): start over.
    git(root, 'worktree', 'remove', '--force', dir);
    rmSync(dir, { recursive: true, force: true });
    git(root, 'worktree', 'prune');
  }
  mkdirSync(path.dirname(dir), { recursive: true });
  const add = git(root, 'worktree', 'add', '--detach', dir, commit);
  if (!add.ok) return { ok: false, ref, reason: `git worktree add ${ref}: ${add.out}` };
  try {
    symlinkSync(realpathSync(path.join(root, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
  } catch (e) {
    return { ok: false, ref, reason: `cannot link node_modules into ${dir}: ${(e as Error).message}` };
  }
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  if (build.status !== 0) return { ok: false, ref, reason: `building ${ref} (tsc) failed: ${(build.stdout + build.stderr).trim().split('\n').slice(0, 3).join(' | ')}` };
  writeFileSync(stamp, `${commit}\n`);
  return { ok: true, ref, commit, root: dir, built: 'now' };
}
