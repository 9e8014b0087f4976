/**
 * The `hetbox` command end to end, as a user runs it (the compiled CLI in dist/, which
 * `npm test` builds first): check, elements, run --json, run --control with ctl, backends.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PCAP_DIR, PROJECT_ROOT } from '../pcap/pcap-test-support.js';
import type { RunSummary } from '../../core/router.js';
import { expectBalanced } from '../support/accounting.js';
import { requireBuiltCli, runHetbox, startServingRun, type CliResult } from '../support/hetbox-cli.js';


const hetbox = (args: string[], input?: string): CliResult => runHetbox(args, { input });

function tmpFile(name: string, text: string): string {
  const p = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-cli-')), name);
  writeFileSync(p, text);
  return p;
}

describe('hetbox CLI', () => {
  beforeAll(() => {
    requireBuiltCli();
  });

  it('check: OK for a valid configuration, file:line:column for a bad one', () => {
    const good = tmpFile('good.click', 'Idle -> c :: Counter -> Discard;\n');
    const ok = hetbox(['check', good]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/OK \(3 elements, 2 connections\)/);
    const bad = tmpFile('bad.click', 'Idle -> c :: Counter;\nc -> q :: Queue(-3) -> Discard;\n');
    const r = hetbox(['check', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:2:17: bad CAPACITY`);
  });

  it('elements: lists classes and prints a manual page', () => {
    const list = hetbox(['elements']);
    expect(list.status).toBe(0);
    for (const c of ['Classifier', 'CheckIPHeader', 'DecIPTTL', 'FromDump', 'ToDump', 'Queue', 'Counter']) expect(list.stdout).toMatch(new RegExp(`^${c}\\b`, 'm'));
    const man = hetbox(['elements', 'Queue']);
    expect(man.status).toBe(0);
    expect(man.stdout).toMatch(/highwater_length/);
    expect(hetbox(['elements', 'NoSuchThing']).status).toBe(1);
  });

  it('run --json: a machine-readable summary of a real capture', () => {
    const cfg = tmpFile('r.click', `FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/example.pcap')}") -> c :: Counter -> Strip(14) -> chk :: CheckIPHeader -> Discard;\n`);
    const r = hetbox(['run', cfg, '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as RunSummary;
    expect(s.packetsIn).toBe(4631);
    expectBalanced(s);
    expect(s.elements.find((e) => e.name === 'c')!.counters.count).toBe(4631);
  });

  it('run: a bad file header is a clear error naming the file', () => {
    const junk = tmpFile('junk.pcap', 'this is not a capture file at all');
    const cfg = tmpFile('j.click', `FromDump(FILE "${junk}") -> Discard;\n`);
    const r = hetbox(['run', cfg]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(junk);
    expect(r.stderr).toMatch(/not a pcap or pcapng file/);
  });

  it('usage errors exit 2', () => {
    expect(hetbox(['frobnicate']).status).toBe(2);
    expect(hetbox(['run']).status).toBe(2);
    expect(hetbox(['run', 'x.click', '--batch', 'zero']).status).toBe(2);
  });

  it('run --control --linger serves handlers to hetbox ctl until WRITE stop', async () => {
    const sock = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-sock-')), 'ctl.sock');
    const cfg = tmpFile('c.click', `FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/example.pcap')}") -> c :: Counter -> q :: Queue(100) -> Discard;\n`);
    const run = await startServingRun(['run', cfg, '--control', sock, '--linger', '--json']);
    expect(run.stderr()).toContain('serving handlers');
    expect(hetbox(['ctl', sock, 'read', 'c.count']).stdout).toBe('4631\n');
    expect(hetbox(['ctl', sock, 'list']).stdout).toMatch(/^q\.capacity rw$/m);
    expect(hetbox(['ctl', sock, 'write', 'q.capacity', '7']).status).toBe(0);
    expect(hetbox(['ctl', sock, 'read', 'q.capacity']).stdout).toBe('7\n');
    const bad = hetbox(['ctl', sock, 'write', 'q.capacity', 'many']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^520 /);
    expect(hetbox(['ctl', sock, 'read', 'nope.count']).stderr).toMatch(/^510 /);
    expect(hetbox(['ctl', sock, 'write', 'stop', '']).status).toBe(0);
    expect(await run.exited).toBe(0);
    const summary = JSON.parse(run.stdout()) as RunSummary;
    expect(summary.packetsIn).toBe(4631);
    expectBalanced(summary);
  });

  it('backends: lists every backend with its device or the reason it is unavailable', () => {
    const r = hetbox(['backends', '--json']);
    expect(r.status).toBe(0);
    const list = (JSON.parse(r.stdout) as { backends: { name: string; availability: { available: boolean } }[] }).backends;
    expect(list.map((b) => b.name)).toEqual(expect.arrayContaining(['cpu', 'webgpu', 'gpujs', 'fpga', 'null']));
    expect(list.find((b) => b.name === 'cpu')!.availability.available).toBe(true);
  });
});

describe('the demo configuration', () => {
  for (const name of ['router.click', 'vrf-router.click']) {
    it(`examples/${name} is valid`, () => {
      const r = hetbox(['check', path.join(PROJECT_ROOT, 'examples', name)]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/OK \(\d+ elements/);
    });
  }
});

describe('hetbox run --backend', () => {
  it('runs IPLookup on the chosen backend with the same routing as cpu', () => {
    const cfg = tmpFile(
      'b.click',
      `FromDump(FILE "${path.join(PCAP_DIR, 'pcapplusplus/example.pcap')}") -> Strip(14) -> CheckIPHeader -> rt :: IPLookup(FIB "${path.join(PROJECT_ROOT, 'examples', 'routes.txt')}", FORMAT click) -> lan :: Counter -> Discard; rt[1] -> up :: Counter -> Discard;\n`,
    );
    type Summary = Pick<RunSummary, 'elements' | 'accounting'>;
    const counters = (s: Summary, name: string): Record<string, number | string> => s.elements.find((e) => e.name === name)!.counters;
    const cpu = hetbox(['run', cfg, '--json']);
    expect(cpu.status).toBe(0);
    const cpuSummary = JSON.parse(cpu.stdout) as Summary;
    expectBalanced(cpuSummary);
    for (const backend of ['webgpu', 'fpga']) {
      const r = hetbox(['run', cfg, '--json', '--backend', backend]);
      expect(r.status).toBe(0);
      const s = JSON.parse(r.stdout) as Summary;
      expectBalanced(s);
      expect(counters(s, 'rt').backend).toBe(backend);
      expect(counters(s, 'lan').count).toBe(counters(cpuSummary, 'lan').count);
      expect(counters(s, 'up').count).toBe(counters(cpuSummary, 'up').count);
      expect(Number(counters(s, 'up').count)).toBeGreaterThan(0);
    }
  });
});
