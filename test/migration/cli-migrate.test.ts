/**
 * The CLI triggers, end to end through the compiled CLI in dist/ (`npm test` builds it first):
 * `hetbox run --migrate rt=webgpu@PACKETS` moves the lookup mid-run and the summary says so
 * (and `--migrate fm=webgpu@PACKETS` the flow lookup, the NAT's capture unchanged);
 * a malformed flag is a usage error; `hetbox ctl ADDR write rt.migrate gpujs` moves it on a
 * lingering run, and a refused migration is an error reply.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { backendAvailability } from '../../core/backend-registry.js';
import { requireOrWarn } from '../backends/availability.js';
import { parseMigrateFlag } from '../../app/cli/migrate-flag.js';
import { clickRouteFile } from './support.js';
import { requireBuiltCli, runHetbox, startServingRun, type CliResult } from '../support/hetbox-cli.js';


const hetbox = (args: string[], cwd: string): CliResult => runHetbox(args, { cwd });

describe('migration from the command line', () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it('--migrate ELEMENT=BACKEND@PACKETS is parsed, and refused when malformed', () => {
    expect(parseMigrateFlag('rt=fpga@10000')).toEqual({ element: 'rt', to: 'fpga', packets: 10000 });
    expect(() => parseMigrateFlag('rt=fpga')).toThrow(/expected ELEMENT=BACKEND@PACKETS/);
    expect(() => parseMigrateFlag('rt=tpu@5')).toThrow(/unknown backend 'tpu'/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-migcli-'));
    writeFileSync(path.join(dir, 'c.click'), 'Idle -> rt :: IPLookup(0/0 0) -> Discard;\n');
    const r = hetbox(['run', 'c.click', '--migrate', 'nope=webgpu@1'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--migrate: no element named 'nope'/);
  });

  it('run --migrate rt=webgpu@1000 moves the lookup mid-run; the summary reports it', async () => {
    if (!requireOrWarn('webgpu', await backendAvailability('webgpu'))) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-migcli-'));
    const routes = clickRouteFile(2000);
    writeFileSync(
      path.join(dir, 'c.click'),
      `FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap')}", STOP true) -> Strip(14) -> CheckIPHeader -> rt :: IPLookup(FIB "${routes}", FORMAT click) -> Discard;\n`,
    );
    const r = hetbox(['run', 'c.click', '--json', '--batch', '64', '--migrate', 'rt=webgpu@1000'], dir);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { elements: { name: string; counters: Record<string, unknown> }[] };
    expect(summary.elements.find((e) => e.name === 'rt')!.counters).toMatchObject({ location: 'webgpu', migrations: 1, migrations_rolled_back: 0 });
    expect(r.stderr).toMatch(/rt: #1 cpu -> webgpu done bytes \d+/);
  }, 60_000);

  it('run --migrate fm=webgpu@1000 moves the flow lookup mid-run; the NAT writes what it writes inline', async () => {
    if (!requireOrWarn('webgpu', await backendAvailability('webgpu'))) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-migcli-'));
    const nat = (out: string): string =>
      `FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap')}", STOP true) -> IPReassembler -> fm :: FlowIPManager -> nat :: IPRewriter(pattern 192.0.2.1 20000-29999 - - 0 1);\nnat[0] -> ToDump(FILE ${out}); nat[1] -> Discard;\n`;
    writeFileSync(path.join(dir, 'base.click'), nat('base.pcap'));
    writeFileSync(path.join(dir, 'mig.click'), nat('mig.pcap'));
    expect(hetbox(['run', 'base.click', '--quiet', '--batch', '64'], dir).status).toBe(0);
    const r = hetbox(['run', 'mig.click', '--json', '--batch', '64', '--in-flight', '16', '--migrate', 'fm=webgpu@1000'], dir);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { elements: { name: string; counters: Record<string, unknown> }[] };
    expect(summary.elements.find((e) => e.name === 'fm')!.counters).toMatchObject({ location: 'webgpu', migrations: 1, migrations_rolled_back: 0 });
    expect(r.stderr).toMatch(/fm: #1 cpu -> webgpu done bytes \d+/);
    expect(readFileSync(path.join(dir, 'mig.pcap')).equals(readFileSync(path.join(dir, 'base.pcap')))).toBe(true);
  }, 60_000);

  it('hetbox ctl ADDR write rt.migrate gpujs moves the lookup of a running router', async () => {
    if (!requireOrWarn('gpujs', await backendAvailability('gpujs'))) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-migctl-'));
    writeFileSync(path.join(dir, 'c.click'), 'Idle -> rt :: IPLookup(10.0.0.0/8 0, 0/0 1) -> Discard;\n');
    const run = await startServingRun(['run', 'c.click', '--control', 's.sock', '--linger', '--quiet'], dir);
    const w = hetbox(['ctl', 's.sock', 'write', 'rt.migrate', 'gpujs'], dir);
    expect(w.stderr).toBe('');
    expect(w.status).toBe(0);
    expect(hetbox(['ctl', 's.sock', 'read', 'rt.location'], dir).stdout.trim()).toBe('gpujs');
    const again = hetbox(['ctl', 's.sock', 'write', 'rt.migrate', 'gpujs'], dir);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/runs on gpujs already/);
    expect(hetbox(['ctl', 's.sock', 'read', 'rt.migrations'], dir).stdout).toMatch(/^#1 cpu -> gpujs done bytes \d+/);
    hetbox(['ctl', 's.sock', 'write', 'stop', ''], dir);
    expect(await run.exited).toBe(0);
  }, 60_000);
});
