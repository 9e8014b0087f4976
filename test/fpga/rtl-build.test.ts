/**
 * The RTL lints clean, and the simulator build is cached by key and safe to race.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, cpSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKey, buildSimulator, cacheRoot, DEFAULT_SIM_PARAMS, forgetBuilds, lintRtl, projectRoot, toolVersions } from '../../hwsim/build.js';
import { requireFpga } from './support.js';

let ok = false;
beforeAll(async () => {
  try {
    await toolVersions();
    ok = true;
  } catch (e) {
    ok = requireFpga({ available: false, reason: (e as Error).message });
  }
});

describe('ip_lookup RTL', () => {
  it('is verilator --lint-only -Wall clean in every memory form and at other parameters', async (ctx) => {
    if (!ok) return ctx.skip();
    for (const p of [
      DEFAULT_SIM_PARAMS,
      { ...DEFAULT_SIM_PARAMS, sharedMemory: false },
      { addressBits: 17, memoryLatency: 4, recordSteps: 2, sharedMemory: false },
      { addressBits: 20, memoryLatency: 2, recordSteps: 9, sharedMemory: true },
    ]) {
      const r = await lintRtl(p);
      expect(r.output, JSON.stringify(p)).toBe('');
      expect(r.ok).toBe(true);
    }
  });
});

describe('simulator build cache', () => {
  let tmpRoot = '';
  afterAll(() => {
    if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
  });

  it('builds once per key; the second build is a cache hit; the key follows sources and parameters', async (ctx) => {
    if (!ok) return ctx.skip();
    const first = await buildSimulator();
    forgetBuilds();
    const second = await buildSimulator();
    expect(second.cached).toBe(true);
    expect(second.binary).toBe(first.binary);
    expect(existsSync(path.join(cacheRoot(), second.key, 'manifest.json'))).toBe(true);
    console.info(`fpga build: first ${first.ms.toFixed(0)} ms (cached: ${first.cached}), second ${second.ms.toFixed(0)} ms (cached)`);
    expect(await buildKey({ ...DEFAULT_SIM_PARAMS, memoryLatency: 2 })).not.toBe(second.key);
  });

  it('two racing builds of a new key both succeed with one complete model and no leftovers', async (ctx) => {
    if (!ok) return ctx.skip();
    // A private project root (copies of hwsim/rtl and hwsim/harness) so the race really builds.
    tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'hetbox-hwsim-'));
    for (const d of ['rtl', 'harness']) {
      mkdirSync(path.join(tmpRoot, 'hwsim'), { recursive: true });
      cpSync(path.join(projectRoot(), 'hwsim', d), path.join(tmpRoot, 'hwsim', d), { recursive: true });
    }
    const p = { addressBits: 17, memoryLatency: 1, recordSteps: 2 };
    const a = buildSimulator(p, tmpRoot);
    forgetBuilds();
    const b = buildSimulator(p, tmpRoot);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.binary).toBe(rb.binary);
    expect(existsSync(ra.binary)).toBe(true);
    // One of them found the other's model already in place.
    expect([ra.cached, rb.cached].filter((c) => !c).length).toBeGreaterThanOrEqual(1);
    expect(readdirSync(cacheRoot(tmpRoot)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect(readdirSync(cacheRoot(tmpRoot))).toEqual([ra.key]);
  });
});
