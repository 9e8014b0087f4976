/**
 * `hetbox plan` and `hetbox calibrate` are commands of the compiled CLI (dist/, which
 * `npm test` builds first): listed in the usage, and plan runs end to end with exit status 0,
 * or 2 with the flag named for a usage mistake.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'app', 'cli', 'hetbox.js');
const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'hetbox-plan-cli-')) };

function hetbox(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: PROJECT_ROOT, timeout: 60_000, env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('hetbox plan (compiled CLI)', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run 'npm run build' (npm test does)`);
  });

  it('is in the usage with calibrate, plans the demo router, and names a bad flag', () => {
    const help = hetbox(['--help']);
    expect(help.stdout).toMatch(/^ {2}plan CONFIG /m);
    expect(help.stdout).toMatch(/^ {2}calibrate /m);
    const r = hetbox(['plan', 'examples/router.click', '--backends', 'null', '--batch', '4096']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^rt \(IPLookup; .*\) -> (cpu|null)$/m);
    expect(r.stdout).toMatch(/^ {2}all-cpu /m);
    const bad = hetbox(['plan', 'examples/router.click', '--latency-bound', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("hetbox plan: --latency-bound: expected microseconds (a positive number), got '0'\n");
  });
});
