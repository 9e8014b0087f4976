/** The built `hetbox` command as the tests run it: a child process of this Node, with a timeout. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';

export const HETBOX_CLI = path.join(PROJECT_ROOT, 'dist', 'app', 'cli', 'hetbox.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Working directory (default: the project root). */
  cwd?: string;
  /** Standard input. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export function runHetbox(args: string[], opts: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [HETBOX_CLI, ...args], { encoding: 'utf8', input: opts.input, cwd: opts.cwd ?? PROJECT_ROOT, env: opts.env, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** For a beforeAll: the CLI tests need `npm run build` first (npm test does it). */
export function requireBuiltCli(): void {
  if (!existsSync(HETBOX_CLI)) throw new Error(`${HETBOX_CLI} missing: run 'npm run build' (npm test does)`);
}
