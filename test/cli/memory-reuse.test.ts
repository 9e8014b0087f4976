/**
 * Freed memory kept for reuse (app/memory-reuse.ts): the glibc tunables, and `hetbox calibrate`
 * starting itself again with them. The compiled CLI in dist/ (`npm test` builds first). What
 * the tunables do to page faults depends on glibc's dynamic thresholds and V8's heap from run to
 * run (16 short runs faulted 11k-33k pages without them, 2k-6k with them), too loose for a
 * deterministic test; the calibration's figures show it (README, issue 11).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MEMORY_REUSE_ENV, hasMemoryReuse, memoryReuseNote, runsOnGlibc, withMemoryReuse } from '../../app/memory-reuse.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The environment without the tunables (whatever the runner's own says). */
function withoutTunables(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(MEMORY_REUSE_ENV)) delete env[k];
  return env;
}

describe.runIf(runsOnGlibc())('freed memory kept for reuse (glibc)', () => {
  it('adds only the tunables an environment lacks, and says which hold', () => {
    const env = withMemoryReuse({ MALLOC_TRIM_THRESHOLD_: '1', PATH: '/bin' });
    expect(env.MALLOC_TRIM_THRESHOLD_).toBe('1');
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe(String(32 * 2 ** 20));
    expect(env.PATH).toBe('/bin');
    expect(hasMemoryReuse(env)).toBe(true);
    expect(hasMemoryReuse({})).toBe(false);
    expect(memoryReuseNote({})).toMatch(/returned to the kernel/);
    expect(memoryReuseNote(withMemoryReuse({}))).toBe('freed memory: kept for reuse (MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296)');
    expect(memoryReuseNote(env)).toMatch(/as the environment's glibc tunables say \(.*MALLOC_TRIM_THRESHOLD_=1\)/);
  });

  it('hetbox calibrate starts itself again with the tunables, and says so', () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'hetbox-reuse-'));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/app/cli/hetbox.js'), 'calibrate', '--backends', '', '--hosts', 'off', '--batches', '32,64', '--repeats', '1'], {
      encoding: 'utf8',
      env: { ...withoutTunables(), XDG_CACHE_HOME: cache },
      timeout: 120_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('freed memory: kept for reuse (MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296)');
    // A bad flag still exits 2 through the relaunch.
    const bad = spawnSync(process.execPath, [path.join(ROOT, 'dist/app/cli/hetbox.js'), 'calibrate', '--bogus'], { encoding: 'utf8', env: withoutTunables(), timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^hetbox calibrate: Unknown option '--bogus'/);
  });
});
