/**
 * Ctrl-C ends `hetbox run` while the input is served from memory (FromDump REPEAT): the
 * signal gets its turn during the run, and the summary shows the run stopped long before its
 * input's end. The run is known to be going from a control READ answered mid-run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../app/control/control-client.js';
import { parseControlAddress } from '../../app/control/control-server.js';
import { PCAP_DIR, PROJECT_ROOT } from '../pcap/pcap-test-support.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'app', 'cli', 'hetbox.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-sigint-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** example.pcap holds 4,631 packets; this many passes take minutes. */
const REPEAT = 20_000;
const TOTAL = 4631 * REPEAT;

describe('hetbox run and SIGINT', () => {
  it('stops a run served from memory on SIGINT and prints its summary', async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: run 'npm run build' (npm test does)`);
    const cfg = path.join(dir, 'repeat.click');
    fs.writeFileSync(cfg, `src :: FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/example.pcap')}", REPEAT ${REPEAT}) -> Strip(14) -> CheckIPHeader -> Discard;\n`);
    const sock = path.join(dir, 'ctl.sock');
    const child = spawn(process.execPath, [CLI, 'run', cfg, '--json', '--control', sock], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('control socket listening')) resolve();
        });
        child.on('exit', () => reject(new Error(`hetbox exited early: ${stderr}`)));
      });
      const client = await ControlClient.connect(parseControlAddress(sock));
      // Answered while the run is going (not after it): some packets read, far from all.
      let count = 0;
      while (count === 0) count = Number((await client.read('src.count')).data);
      expect(count).toBeLessThan(TOTAL);
      client.close();
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const summary = JSON.parse(stdout) as { packetsIn: number };
      expect(summary.packetsIn).toBeGreaterThanOrEqual(count);
      expect(summary.packetsIn).toBeLessThan(TOTAL);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
