/**
 * The layering rule (.dependency-cruiser.cjs, `npm run layers`) is only worth having if it fails:
 * a throwaway tree whose core/ imports elements/ must be reported with the rule's name, and the
 * real tree must pass with the same command `npm test` runs.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const depcruise = path.join(root, 'node_modules/.bin/depcruise');

interface Cruise {
  code: number;
  output: string;
}

function cruise(cwd: string, folders: string[]): Promise<Cruise> {
  return new Promise((resolve) => {
    execFile(depcruise, [...folders, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('layering rule', () => {
  const temps: string[] = [];
  afterAll(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  async function fakeTree(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'hetbox-layers-'));
    temps.push(dir);
    await copyFile(path.join(root, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
    return dir;
  }

  it('fails on core/ importing elements/, naming the rule and both files', async () => {
    const dir = await fakeTree({
      'core/x.ts': "import { y } from '../elements/y.js';\nexport const x = y + 1;\n",
      'elements/y.ts': 'export const y = 1;\n',
    });
    const r = await cruise(dir, ['core', 'elements']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('core-imports-no-upper-layer');
    expect(r.output).toMatch(/core\/x\.ts\s*→\s*elements\/y\.ts/);
  });

  it('fails on elements/ importing backends/', async () => {
    const dir = await fakeTree({
      'elements/e.ts': "import { b } from '../backends/b.js';\nexport const e = b;\n",
      'backends/b.ts': 'export const b = 2;\n',
    });
    const r = await cruise(dir, ['elements', 'backends']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('elements-know-core-only');
  });

  it('passes the same fake tree once the import points downward', async () => {
    const dir = await fakeTree({
      'core/x.ts': 'export const x = 1;\n',
      'elements/y.ts': "import { x } from '../core/x.js';\nexport const y = x + 1;\n",
    });
    const r = await cruise(dir, ['core', 'elements']);
    expect(r.output).not.toContain('core-imports-no-upper-layer');
    expect(r.code).toBe(0);
  });

  it('passes on the real tree (what npm run layers checks)', async () => {
    const r = await cruise(root, ['app', 'core', 'elements', 'backends', 'hwsim', 'bench', 'scripts']);
    expect(r.output).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  });
});
