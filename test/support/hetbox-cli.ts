/** The built `hetbox` command as the tests run it: a child process of this Node, with a timeout. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

/** A `hetbox run ... --control ADDR --linger` child, once it serves its handlers. */
export interface ServingRun {
  child: ChildProcess;
  /** Its exit status, once it exits. */
  exited: Promise<number>;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts `hetbox ARGS` (a run with --control and --linger) in `cwd` and resolves when it says it
 * is serving handlers: the event, never a guess at how long start-up takes. Rejects, with what
 * it printed, if it exits first.
 */
export async function startServingRun(args: string[], cwd: string = PROJECT_ROOT): Promise<ServingRun> {
  const child = spawn(process.execPath, [HETBOX_CLI, ...args], { cwd });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('serving handlers')) resolve();
    });
    child.on('exit', () => reject(new Error(`hetbox ${args.join(' ')} exited before serving handlers: ${err}`)));
  });
  return { child, exited, stdout: () => out, stderr: () => err };
}
