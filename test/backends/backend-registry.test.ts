/** Backend registry (memoized detection, `hetbox backends` text) and the null backend's knobs. */
import { describe, expect, it } from 'vitest';
import { BackendFailure } from '../../core/backend.js';
import { backendAvailability, describeBackends, formatBackends, getBackend } from '../../core/backend-registry.js';
import { kernelRegistry } from '../../core/kernel.js';
import { FLOW_HASH } from '../../core/kernels/flow-hash/index.js';
import { FLOW_LOOKUP } from '../../core/kernels/flow-lookup/index.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup/index.js';
import { NullBackend } from '../../backends/null/null-backend.js';
import { afterAll, beforeAll } from 'vitest';
import { disposeBackends, loadAllBackends } from '../../core/backend-registry.js';

beforeAll(async () => {
  await loadAllBackends();
});
afterAll(async () => {
  await disposeBackends();
});

describe('backend registry', () => {
  it('describes every backend with its device or the reason it is unavailable', async () => {
    const list = await describeBackends();
    expect(list.map((d) => (d.variant ? `${d.name}/${d.variant}` : d.name))).toEqual(['cpu', 'webgpu', 'gpujs/webasm', 'gpujs/webgpu', 'gpujs/cpu', 'fpga', 'null']);
    const text = formatBackends(list);
    for (const d of list) {
      const label = d.variant ? `${d.name}/${d.variant}` : d.name;
      const line = text.split('\n').find((l) => l.startsWith(`${label} `));
      expect(line, label).toBeDefined();
      if (!d.availability.available) expect(line).toContain(`unavailable: ${d.availability.reason}`);
      else expect(line).toContain(d.availability.device.description);
    }
    expect(text).toMatch(/^cpu\s+\S/m);
  });

  it('detects once and hands out the same backend object', async () => {
    const a = await getBackend('cpu');
    expect(await getBackend('cpu')).toBe(a);
    expect(await backendAvailability('cpu')).toBe(await backendAvailability('cpu'));
  });

  it('rejects an unavailable backend with its reason', async () => {
    const a = await backendAvailability('fpga');
    if (a.available) return;
    await expect(getBackend('fpga')).rejects.toThrow(a.reason);
  });

  it('knows which backends run each kernel once the backends are loaded', () => {
    const lookup = kernelRegistry.backendsFor(IP_LOOKUP).map((f) => (f.variant ? `${f.backend}/${f.variant}` : f.backend));
    expect(lookup).toEqual(expect.arrayContaining(['cpu', 'null', 'webgpu', 'gpujs/cpu', 'gpujs/webasm', 'gpujs/webgpu']));
    const hash = kernelRegistry.backendsFor(FLOW_HASH).map((f) => (f.variant ? `${f.backend}/${f.variant}` : f.backend));
    expect(hash).toEqual(expect.arrayContaining(['cpu', 'null', 'webgpu', 'fpga', 'gpujs/cpu', 'gpujs/webasm', 'gpujs/webgpu']));
    const flow = kernelRegistry.backendsFor(FLOW_LOOKUP).map((f) => (f.variant ? `${f.backend}/${f.variant}` : f.backend));
    expect(flow).toEqual(expect.arrayContaining(['cpu', 'null', 'webgpu', 'fpga', 'gpujs/cpu', 'gpujs/webasm', 'gpujs/webgpu']));
  });
});

describe('null backend', () => {
  it('reports the configured device and costs, and a simulated time per run', async () => {
    const b = new NullBackend({ description: 'pretend GPU', costs: { perItemNs: 2, perBatchNs: 1000, perByteTransferNs: 0, capacityBytes: 1 << 20 } });
    const a = await b.detect();
    expect(a).toMatchObject({ available: true, device: { backend: 'null', description: 'pretend GPU', software: true } });
    expect(b.costs(FLOW_HASH)).toEqual({ perItemNs: 2, perBatchNs: 1000, perByteTransferNs: 0, capacityBytes: 1 << 20, kernel: FLOW_HASH, backend: 'null', source: 'default', batches: 0, items: 0 });
    const io = { count: 10, inputs: { src: new Int32Array(10), dst: new Int32Array(10), ports: new Int32Array(10), proto: new Int32Array(10) }, outputs: { flow: new Int32Array(10) } };
    const s = await b.runKernel(FLOW_HASH, io, []);
    expect(s.device?.simulatedNs).toBe(1000 + 2 * 10);
    await expect(b.loadStructure('multi-fib-v4', new Uint32Array((1 << 18) + 1), 1)).rejects.toThrow(/exceeds the configured capacity of 1048576 bytes/);
  });

  it('rejects bad options with zod naming the field', () => {
    expect(() => new NullBackend({ costs: { perItemNs: -1 } })).toThrow(/perItemNs/);
  });

  it('fails after N runs with BackendFailure when told to', async () => {
    const b = new NullBackend({ failAfterRuns: 1 });
    const io = { count: 1, inputs: { src: new Int32Array(1), dst: new Int32Array(1), ports: new Int32Array(1), proto: new Int32Array(1) }, outputs: { flow: new Int32Array(1) } };
    await b.runKernel(FLOW_HASH, io, []);
    await expect(b.runKernel(FLOW_HASH, io, [])).rejects.toBeInstanceOf(BackendFailure);
  });
});
