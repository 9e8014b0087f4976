/**
 * `hetbox check` rejects the FromDump and ToDump paths that `run` would reject (missing file,
 * a directory, not a capture, a device, an output directory that does not exist), each error
 * at the FILE argument's file:line:column; good paths, relative to the config, pass.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { requireBuiltCli, runHetbox, type CliResult } from '../support/hetbox-cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hetbox-check-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const hetbox = (args: string[]): CliResult => runHetbox(args);

/** A config whose second line holds `element`; its path and the column of the last element's FILE argument. */
function config(name: string, element: string): { file: string; column: number } {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `// ${name}\n${element}\n`);
  const open = element.includes('ToDump(') ? 'ToDump(' : 'FromDump(';
  return { file, column: element.indexOf(open) + open.length + 1 };
}

const example = path.join(PCAP_DIR, 'pcapplusplus/example.pcap');

describe('hetbox check on capture paths', () => {
  beforeAll(() => {
    requireBuiltCli();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a capture at all');
    fs.mkdirSync(path.join(dir, 'adir'));
    fs.copyFileSync(example, path.join(dir, 'in.pcap'));
  });

  const bad: [string, string, RegExp][] = [
    ['missing', 'FromDump(FILE nosuch.pcap) -> Discard;', /FromDump FILE: cannot read '.*nosuch\.pcap': no such file/],
    ['directory', 'FromDump(adir, STOP true) -> Discard;', /FromDump FILE: '.*adir' is a directory, not a capture file/],
    ['not-capture', 'FromDump(FILE notes.txt) -> Discard;', /FromDump FILE: '.*notes\.txt' is not a pcap or pcapng file \(magic 0x6e6f7420\)/],
    ['device', 'FromDump(FILE /dev/zero) -> Discard;', /FromDump FILE: '\/dev\/zero' is not a regular file/],
    ['out-missing-dir', 'FromDump(in.pcap) -> ToDump(FILE nodir/out.pcap);', /ToDump FILE: cannot write '.*nodir\/out\.pcap': directory '.*nodir': no such file/],
    ['out-directory', 'FromDump(in.pcap) -> ToDump(adir);', /ToDump FILE: cannot write '.*adir': it is a directory/],
  ];
  for (const [name, element, message] of bad) {
    it(`rejects ${name} at the FILE argument, as run does`, () => {
      const { file, column } = config(`${name}.click`, element);
      const r = hetbox(['check', file]);
      expect(r.status, r.stdout).toBe(1);
      expect(r.stderr).toContain(`${file}:2:${column}: `);
      expect(r.stderr).toMatch(message);
      // run rejects it too (check is not stricter than run).
      expect(hetbox(['run', file]).status).not.toBe(0);
    });
  }

  it('accepts good capture paths relative to the configuration', () => {
    const { file } = config('good.click', 'FromDump(in.pcap) -> ToDump(FILE out.pcap);');
    const r = hetbox(['check', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(dir, 'out.pcap'))).toBe(false);
  });
});
