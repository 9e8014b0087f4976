/**
 * A kernel is found by its name: `core/kernels/<kernel>/README.md` lists every form with its
 * path, every listed file exists and names the kernel (so one search for `ip-lookup` or
 * `ip_lookup` finds it), and every form registered in the kernel registry is listed there and
 * lives at `backends/<backend>/kernels/<kernel>.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAllBackends } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import '../../core/kernels/index.js';

await loadAllBackends();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function listedPaths(readme: string): string[] {
  return [...readme.matchAll(/`([\w./-]+\.(?:ts|v|cpp))`/g)].map((m) => m[1]);
}

describe('every form of a kernel is found by its name', () => {
  const kernels = kernelRegistry.kernels().map((c) => c.name);

  it('declares ip-lookup, flow-hash, flow-lookup and acl-match', () => {
    expect(kernels).toEqual(expect.arrayContaining(['ip-lookup', 'flow-hash', 'flow-lookup', 'acl-match']));
  });

  for (const kernel of kernels) {
    describe(kernel, () => {
      const readmePath = path.join(root, 'core', 'kernels', kernel, 'README.md');
      const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
      const listed = listedPaths(readme);
      const names = [kernel, kernel.replaceAll('-', '_')];

      it('has a README listing its forms', () => {
        expect(readme, `${readmePath} is missing`).not.toBe('');
        expect(listed.length).toBeGreaterThan(3);
      });

      it('every listed path exists and names the kernel', () => {
        for (const p of listed) {
          const abs = path.join(root, p);
          expect(existsSync(abs), `${p} (listed in core/kernels/${kernel}/README.md) does not exist`).toBe(true);
          const text = readFileSync(abs, 'utf8');
          expect(names.some((n) => p.includes(n) || text.includes(n)), `${p} names neither ${names.join(' nor ')}`).toBe(true);
        }
      });

      it('every registered form lives at backends/<backend>/kernels/<kernel>.ts and is listed', () => {
        const forms = kernelRegistry.formsOf(kernel);
        expect(forms.length).toBeGreaterThan(0);
        for (const f of forms) {
          const file = path.relative(root, fileURLToPath(f.source)).replace(/\.js$/, '.ts').replace(/^dist\//, '');
          expect(file).toBe(`backends/${f.backend}/kernels/${kernel}.ts`);
          expect(listed, `core/kernels/${kernel}/README.md does not list ${file}`).toContain(file);
        }
      });

      it('lists the contract and the CPU reference in its own folder', () => {
        expect(listed).toContain(`core/kernels/${kernel}/contract.ts`);
        expect(listed).toContain(`core/kernels/${kernel}/reference.ts`);
      });
    });
  }
});
