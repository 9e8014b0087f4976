/**
 * A plain `hetbox run` loads what its configuration uses and nothing else: the other commands
 * (plan with @viz-js, calibrate, backends), the planner, the control server and every
 * accelerator backend are imported only when asked for (hetbox.ts, run-command.ts). Their
 * modules cost start-up time on every run: this fails if one comes back at start-up. The
 * built CLI runs under a module hook that logs every module it resolves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PCAP_DIR, PROJECT_ROOT } from '../pcap/pcap-test-support.js';
import { HETBOX_CLI, requireBuiltCli } from '../support/hetbox-cli.js';

/** Every module URL `hetbox ARGS` resolved, in order. */
function modulesLoadedBy(args: string[], cwd: string): { status: number; stderr: string; urls: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-imports-'));
  const log = path.join(dir, 'modules.log');
  writeFileSync(log, '');
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, [
    "import { appendFileSync } from 'node:fs';",
    'let log = null;',
    'export function initialize(data) { log = data.log; }',
    'export async function resolve(specifier, context, next) {',
    '  const r = await next(specifier, context);',
    "  appendFileSync(log, r.url + '\\n');",
    '  return r;',
    '}',
  ].join('\n'));
  const register = path.join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(log)} } });\n`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, HETBOX_CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, stderr: r.stderr, urls: readFileSync(log, 'utf8').split('\n').filter((u) => u !== '') };
}

describe('hetbox run start-up imports', () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it('a router run loads its elements, not other commands, the planner, the control server or accelerator backends', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-run-imports-'));
    writeFileSync(path.join(dir, 'routes.txt'), '10.0.0.0/8 0\n0.0.0.0/0 0\n');
    writeFileSync(path.join(dir, 'r.click'), `FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/example.pcap')}") -> Strip(14) -> CheckIPHeader -> IPLookup(FIB routes.txt) -> DecIPTTL -> Discard;\n`);
    const r = modulesLoadedBy(['run', '--quiet', 'r.click'], dir);
    expect(r.status, r.stderr).toBe(0);
    const ours = r.urls.filter((u) => u.startsWith(pathToFileURL(PROJECT_ROOT).href));
    // The hook saw the run (so an empty log cannot pass): the command and the lookup element.
    expect(ours.some((u) => u.endsWith('/dist/app/cli/run-command.js'))).toBe(true);
    expect(ours.some((u) => u.endsWith('/dist/elements/ip-lookup.js'))).toBe(true);
    const unwanted = [/@viz-js/, /gpu\.js/, /\/webgpu\//, /\/dist\/backends\//, /\/dist\/core\/planner\//, /\/dist\/app\/control\/control-server\.js$/, /\/dist\/app\/cli\/(plan|calibrate|backends|lookup|flows|ctl|check|elements)-command\.js$/, /\/dist\/app\/cli\/adaptive-/];
    expect(r.urls.filter((u) => unwanted.some((p) => p.test(u)))).toEqual([]);
  });
});
