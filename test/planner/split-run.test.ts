/**
 * Split placements carried out at run time: `PLACE webgpu:0.7,cpu` on IPLookup shares its
 * batches between two backends by a credit counter, the `split` handler and the summary count
 * each part's batches, and the output capture is byte for byte the unsplit run's (the scheduler
 * delivers the element's outputs in batch order whichever backend finishes first). Real
 * backends: lavapipe WebGPU and the Verilator FPGA beside the inline CPU form; the null backend
 * for the in-process checks. Also the PLACE notation and its errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router, type RunSummary } from '../../core/router.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import { ConfigError } from '../../core/config/source-location.js';
import { SplitDispatch } from '../../core/offload/split-dispatch.js';
import { elementLibrary } from '../../elements/index.js';
import { PCAP_DIR } from '../pcap/pcap-test-support.js';
import { expectBalanced } from '../support/accounting.js';
import { requireOrWarn } from '../backends/availability.js';
import { clickRouteFile } from '../migration/support.js';
import { requireBuiltCli, runHetbox } from '../support/hetbox-cli.js';
import { graphOf } from './support.js';

const CAPTURE = path.join(PCAP_DIR, 'pcapplusplus', 'example.pcap');

afterAll(() => disposeBackends());

function config(routes: string, output: string, place: string): string {
  return `
    src :: FromDump(FILE "${CAPTURE}", STOP true);
    cls :: Classifier(12/0800, -);
    rt  :: IPLookup(FIB "${routes}", FORMAT click${place === '' ? '' : `, PLACE ${place}`});
    ttl :: DecIPTTL;
    out :: ToDump(FILE "${output}");
    src -> cls;
    cls[0] -> Strip(14) -> CheckIPHeader -> rt;
    cls[1] -> Discard;
    rt[0] -> ttl;
    rt[1] -> ttl;
    ttl[0] -> Unstrip(14) -> out;
    ttl[1] -> Discard;`;
}

interface Run {
  summary: RunSummary;
  output: Buffer;
  split: string;
  location: string;
}

async function run(routes: string, place: string): Promise<Run> {
  const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-split-')), 'out.pcap');
  const router = Router.fromText(config(routes, output, place), path.join(os.tmpdir(), 'split.click'), elementLibrary, {
    log: { info: () => undefined, warn: () => undefined },
    batchSize: 32,
    strictBackends: true,
    backends: getBackend,
  });
  await router.initialize();
  const summary = await router.run();
  const split = place === '' ? '' : await router.handler('rt.split').read!();
  const location = await router.handler('rt.location').read!();
  const elements = router.summary().elements;
  await router.cleanup();
  expectBalanced(router);
  return { summary: { ...summary, elements }, output: readFileSync(output), split, location };
}

describe('the credit counter', () => {
  it('deals 0.7/0.3 as 7 and 3 in every 10 batches, interleaved, and the same every time', () => {
    const d = new SplitDispatch([
      { label: 'webgpu', weight: 0.7 },
      { label: 'cpu', weight: 0.3 },
    ]);
    const seq = Array.from({ length: 20 }, () => d.pick(32));
    // Worked out by hand, credits after earning: (0.7,0.3) a; (0.4,0.6) b; (1.1,-0.1) a; (0.8,0.2) a;
    // (0.5,0.5) a (a tie goes to the earlier part); (0.2,0.8) b; (0.9,0.1) a; (0.6,0.4) a; (0.3,0.7) b; (1,0) a.
    expect(seq.slice(0, 10)).toEqual([0, 1, 0, 0, 0, 1, 0, 0, 1, 0]);
    expect(seq.slice(10)).toEqual(seq.slice(0, 10));
    expect(d.counts().map((c) => [c.batches, c.items])).toEqual([
      [14, 448],
      [6, 192],
    ]);
    // Over any prefix, a part's count is within 1 of its share.
    const e = new SplitDispatch([
      { label: 'a', weight: 0.37 },
      { label: 'b', weight: 0.63 },
    ]);
    for (let n = 1; n <= 500; n++) {
      e.pick(1);
      expect(Math.abs(e.counts()[0].batches - 0.37 * n)).toBeLessThan(1);
    }
    expect(e.text()).toBe('a share 0.37 batches 185 items 185\nb share 0.63 batches 315 items 315\n');
  });

  it('refuses weights that do not sum to 1', () => {
    expect(
      () =>
        new SplitDispatch([
          { label: 'a', weight: 0.5 },
          { label: 'b', weight: 0.6 },
        ]),
    ).toThrow(/sum to 1/);
  });
});

describe('PLACE a:W,b', () => {
  const placeOf = (args: string) => graphOf(`Idle -> rt :: IPLookup(0/0 0${args}) -> Discard;\n`).byName.get('rt')!.place;

  it('unquoted (the comma makes two arguments) and quoted read the same; the omitted share is the rest', () => {
    const loc = { file: 'plan-test.click', line: 1, column: 31 };
    expect(placeOf(', PLACE webgpu:0.7,cpu')).toEqual({ backend: 'webgpu', loc, split: [{ backend: 'webgpu', weight: 0.7 }, { backend: 'cpu', weight: 1 - 0.7 }] });
    expect(placeOf(', PLACE "webgpu:0.7,cpu"')!.split).toEqual(placeOf(', PLACE webgpu:0.7,cpu')!.split);
    expect(placeOf(', PLACE gpujs/cpu:0.25,fpga:0.75')!.split).toEqual([
      { backend: 'gpujs', variant: 'cpu', weight: 0.25 },
      { backend: 'fpga', weight: 0.75 },
    ]);
  });

  const error = (text: string): string => {
    try {
      graphOf(text);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error('no error');
  };

  it('bad splits are located errors', () => {
    expect(error('Idle -> rt :: IPLookup(0/0 0, PLACE webgpu:0.7,cpu:0.4) -> Discard;\n')).toBe("plan-test.click:1:31: bad PLACE 'webgpu:0.7,cpu:0.4': the shares sum to 1.1, not 1");
    expect(error('Idle -> rt :: IPLookup(0/0 0, PLACE webgpu:1.5,cpu) -> Discard;\n')).toBe(
      "plan-test.click:1:31: bad PLACE 'webgpu:1.5,cpu': the share of webgpu must be a number between 0 and 1 (exclusive)",
    );
    expect(error('Idle -> rt :: IPLookup(0/0 0, PLACE "cpu:0.5,cpu") -> Discard;\n')).toBe("plan-test.click:1:31: bad PLACE 'cpu:0.5,cpu': both parts name the same backend");
    expect(error('Idle -> rt :: IPLookup(0/0 0, PLACE "webgpu,cpu") -> Discard;\n')).toBe("plan-test.click:1:31: bad PLACE 'webgpu,cpu': give the first backend its share (e.g. webgpu:0.7,cpu)");
    expect(error('Idle -> rt :: IPLookup(0/0 0, PLACE "a:0.2,b:0.3,c") -> Discard;\n')).toMatch(/a split names two backends/);
    expect(error('Idle -> rt :: IPLookup(0/0 0, BACKEND null, PLACE null:0.5,cpu) -> Discard;\n')).toBe("plan-test.click:1:45: 'rt' (IPLookup): a split PLACE contradicts its BACKEND null");
    // Run could not honour a split on an element that cannot dispatch its batches.
    expect(error('Idle -> fh :: FlowHash(PLACE null:0.5,cpu) -> Discard;\n')).toBe("plan-test.click:1:24: 'fh' (FlowHash) cannot split its batches between backends (run carries out splits for IPLookup)");
  });
});

describe('a split IPLookup writes the unsplit capture byte for byte', () => {
  let routes: string;
  let plain: Run;
  beforeAll(async () => {
    routes = clickRouteFile(2000);
    plain = await run(routes, '');
  }, 60_000);

  const check = (split: Run, parts: [string, number][]): void => {
    expect(split.output.equals(plain.output)).toBe(true);
    const rt = split.summary.elements.find((e) => e.name === 'rt')!.counters;
    expect(parts.reduce((s, [, n]) => s + n, 0)).toBeGreaterThan(10);
    for (const [label, n] of parts) expect(rt[`split_${label}_batches`]).toBe(n);
    expect(split.split.split('\n')[0]).toMatch(new RegExp(`^${parts[0][0]} share `));
    // Every other counter (routes, drops) agrees with the unsplit run.
    const same = (r: Run) => Object.fromEntries(Object.entries(r.summary.elements.find((e) => e.name === 'rt')!.counters).filter(([k]) => !k.startsWith('split') && !k.startsWith('backend') && !k.startsWith('kernel')));
    expect(same(split)).toEqual(same(plain));
  };

  /** The credit counter's counts for `batches` batches at weight `w` for the first part. */
  const dealt = (w: number, batches: number): [number, number] => {
    const d = new SplitDispatch([
      { label: 'a', weight: w },
      { label: 'b', weight: 1 - w },
    ]);
    for (let i = 0; i < batches; i++) d.pick(1);
    return [d.counts()[0].batches, d.counts()[1].batches];
  };

  it('null:0.6,cpu (in process): per-part batch counts in the split handler and the summary', async () => {
    const s = await run(routes, 'null:0.6,cpu');
    const total = Number(/batches (\d+)/.exec(s.split.split('\n')[0])![1]) + Number(/batches (\d+)/.exec(s.split.split('\n')[1])![1]);
    const [a, b] = dealt(0.6, total);
    check(s, [
      ['null', a],
      ['cpu', b],
    ]);
    expect(s.location).toBe('split null:0.6,cpu:0.4');
  }, 60_000);

  it('webgpu:0.7,cpu on lavapipe', async () => {
    if (!requireOrWarn('webgpu', await backendAvailability('webgpu'))) return;
    const s = await run(routes, 'webgpu:0.7,cpu');
    const counts = s.split.split('\n').filter((l) => l !== '').map((l) => Number(/batches (\d+)/.exec(l)![1]));
    const [a, b] = dealt(0.7, counts[0] + counts[1]);
    check(s, [
      ['webgpu', a],
      ['cpu', b],
    ]);
  }, 60_000);

  it('cpu:0.5,fpga on the Verilator FPGA', async () => {
    if (!requireOrWarn('fpga', await backendAvailability('fpga'))) return;
    const s = await run(routes, 'cpu:0.5,fpga');
    const counts = s.split.split('\n').filter((l) => l !== '').map((l) => Number(/batches (\d+)/.exec(l)![1]));
    const [a, b] = dealt(0.5, counts[0] + counts[1]);
    check(s, [
      ['cpu', a],
      ['fpga', b],
    ]);
  }, 120_000);
});

describe('hetbox run carries out PLACE webgpu:0.7,cpu', () => {
  beforeAll(() => requireBuiltCli());

  it('the summary counts each part; the capture is the unsplit one', async () => {
    if (!requireOrWarn('webgpu', await backendAvailability('webgpu'))) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-splitcli-'));
    const routes = clickRouteFile(500);
    writeFileSync(path.join(dir, 'plain.click'), config(routes, path.join(dir, 'plain.pcap'), ''));
    writeFileSync(path.join(dir, 'split.click'), config(routes, path.join(dir, 'split.pcap'), 'webgpu:0.7,cpu'));
    const a = runHetbox(['run', 'plain.click', '--json', '--batch', '64'], { cwd: dir });
    const b = runHetbox(['run', 'split.click', '--json', '--batch', '64'], { cwd: dir });
    expect(a.status).toBe(0);
    expect(b.status).toBe(0);
    expect(b.stderr).toMatch(/rt: split placement webgpu:0\.7,cpu:0\.3/);
    const rt = (JSON.parse(b.stdout) as RunSummary).elements.find((e) => e.name === 'rt')!.counters;
    expect(rt.split).toBe('webgpu:0.7,cpu:0.3');
    const w = Number(rt.split_webgpu_batches);
    const c = Number(rt.split_cpu_batches);
    expect(w + c).toBeGreaterThan(10);
    expect(Math.abs(w - 0.7 * (w + c))).toBeLessThan(1);
    expect(readFileSync(path.join(dir, 'split.pcap')).equals(readFileSync(path.join(dir, 'plain.pcap')))).toBe(true);
  }, 60_000);
});
