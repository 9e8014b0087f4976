/**
 * `--control` and `hetbox ctl` addresses end to end (the compiled CLI in dist/, which `npm test`
 * builds first): a port out of range is a usage error, a relative socket path works.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBuiltCli, runHetbox, startServingRun, type CliResult } from '../support/hetbox-cli.js';


const hetbox = (args: string[], cwd: string): CliResult => runHetbox(args, { cwd });

describe('hetbox --control addresses', () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it('a port out of range is a one-line usage error (exit 2)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-ctlflag-'));
    writeFileSync(path.join(dir, 'c.click'), 'Idle -> Discard;\n');
    const r = hetbox(['run', 'c.click', '--control', '99999'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("hetbox run: bad control address '99999': port '99999' is not in 0..65535 (a socket path that looks like a port is written ./99999)\n");
    const c = hetbox(['ctl', '70000', 'list'], dir);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/^hetbox ctl: bad control address '70000'/);
  });

  it('run --control s.sock listens on a socket relative to the current directory, and ctl s.sock reaches it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-ctlflag-'));
    writeFileSync(path.join(dir, 'c.click'), 'Idle -> c :: Counter -> Discard;\n');
    const run = await startServingRun(['run', 'c.click', '--control', 's.sock', '--linger', '--quiet'], dir);
    expect(run.stderr()).toContain('control socket listening on s.sock');
    expect(existsSync(path.join(dir, 's.sock'))).toBe(true);
    expect(hetbox(['ctl', 's.sock', 'read', 'c.count'], dir).stdout).toBe('0\n');
    expect(hetbox(['ctl', 's.sock', 'write', 'stop', ''], dir).status).toBe(0);
    expect(await run.exited).toBe(0);
  });
});
