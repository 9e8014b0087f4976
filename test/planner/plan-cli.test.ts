/**
 * `hetbox plan` and `hetbox calibrate` are commands of the compiled CLI (dist/, which
 * `npm test` builds first): listed in the usage, and plan runs end to end with exit status 0,
 * or 2 with the flag named for a usage mistake.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBuiltCli, runHetbox, type CliResult } from '../support/hetbox-cli.js';

const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(path.join(os.tmpdir(), 'hetbox-plan-cli-')) };

const hetbox = (args: string[]): CliResult => runHetbox(args, { env });

describe('hetbox plan (compiled CLI)', () => {
  beforeAll(() => {
    requireBuiltCli();
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
