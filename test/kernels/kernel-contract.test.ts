/**
 * Contracts are enforced: every run is held to its kernel's contract before the form runs, and a
 * mismatch is a KernelContractError naming the kernel, the backend and the column (or param, or
 * structure). Also: a form returns its device figures through runKernel, and costs(kernel)
 * says whether it is measured or a default.
 */
import { describe, expect, it } from 'vitest';
import type { KernelIo } from '../../core/backend.js';
import { getBackend } from '../../core/backend-registry.js';
import { checkKernelIo, columnNames, KernelContractError, type KernelContract } from '../../core/kernel.js';
import { KernelStats } from '../../core/kernel-stats.js';
import { FLOW_HASH, flowHashContract } from '../../core/kernels/flow-hash/index.js';
import { IP_LOOKUP, ipLookupContract } from '../../core/kernels/ip-lookup/index.js';
import { MultiFib } from '../../core/structures/multi-fib/multi-fib.js';

function flowIo(n: number): KernelIo {
  return { count: n, inputs: { src: new Int32Array(n), dst: new Int32Array(n), ports: new Int32Array(n), proto: new Int32Array(n) }, outputs: { flow: new Int32Array(n) } };
}

const withParams = {
  name: 'scaled',
  inputs: [{ name: 'x', type: 'i32' }],
  outputs: [{ name: 'y', type: 'i32' }],
  state: [],
  params: ['factor'],
} as const satisfies KernelContract;

function rejection(f: () => void): KernelContractError {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelContractError) return e;
    throw e;
  }
  throw new Error('no KernelContractError');
}

describe('checkKernelIo', () => {
  it('accepts a run that matches its contract', () => {
    expect(() => checkKernelIo(flowHashContract, 'cpu', flowIo(5), {})).not.toThrow();
    expect(() => checkKernelIo(withParams, 'cpu', { count: 2, inputs: { x: new Int32Array(2) }, outputs: { y: new Int32Array(4) } }, { factor: 3 })).not.toThrow();
  });

  it('rejects a missing column, naming kernel, backend and column', () => {
    const io = flowIo(4);
    delete io.inputs.ports;
    const e = rejection(() => checkKernelIo(flowHashContract, 'webgpu', io, {}));
    expect(e.message).toBe("flow-hash on webgpu: input column 'ports' is missing");
    expect([e.kernel, e.backend]).toEqual([FLOW_HASH, 'webgpu']);
  });

  it('rejects a column of the wrong type', () => {
    const io = flowIo(4);
    (io.outputs as Record<string, unknown>).flow = new Uint32Array(4);
    expect(rejection(() => checkKernelIo(flowHashContract, 'cpu', io, {})).message).toBe("flow-hash on cpu: output column 'flow' is a Uint32Array, not an Int32Array (u32)");
  });

  it('rejects a column shorter than count', () => {
    const io = flowIo(4);
    io.inputs.dst = new Int32Array(3);
    expect(rejection(() => checkKernelIo(flowHashContract, 'gpujs/webasm', io, {})).message).toBe("flow-hash on gpujs/webasm: input column 'dst' has 3 items, fewer than count 4");
  });

  it('rejects a column the contract does not declare (a typo)', () => {
    const io = flowIo(4);
    io.inputs.prot = new Int32Array(4);
    expect(rejection(() => checkKernelIo(flowHashContract, 'cpu', io, {})).message).toMatch(/^flow-hash on cpu: input column 'prot' is not in the contract \(expected src, dst, ports, proto\)$/);
  });

  it('rejects a bad count', () => {
    expect(rejection(() => checkKernelIo(flowHashContract, 'cpu', { ...flowIo(4), count: -1 }, {})).message).toMatch(/count -1/);
  });

  it('rejects missing, non-finite and undeclared params', () => {
    const io = { count: 1, inputs: { x: new Int32Array(1) }, outputs: { y: new Int32Array(1) } };
    expect(rejection(() => checkKernelIo(withParams, 'fpga', io, {})).message).toBe("scaled on fpga: param 'factor' is missing");
    expect(rejection(() => checkKernelIo(withParams, 'fpga', io, { factor: NaN })).message).toBe("scaled on fpga: param 'factor' is not a finite number (NaN)");
    expect(rejection(() => checkKernelIo(withParams, 'fpga', io, { factor: 1, scale: 2 })).message).toBe("scaled on fpga: param 'scale' is not in the contract (expected factor)");
    expect(rejection(() => checkKernelIo(flowHashContract, 'cpu', flowIo(1), { fib: 0 })).message).toBe("flow-hash on cpu: param 'fib' is not in the contract (expected none)");
  });

  it('column name constants come from the contract', () => {
    expect(columnNames(ipLookupContract)).toEqual({ dst: 'dst', vrf: 'vrf', nextHop: 'nextHop' });
  });
});

describe('runKernel holds every run to the contract', () => {
  it('the cpu backend rejects a mismatched run before its form runs, and a wrong structure list', async () => {
    const cpu = await getBackend('cpu');
    const io = flowIo(8);
    io.outputs.flow = new Int32Array(2).fill(7);
    await expect(cpu.runKernel(FLOW_HASH, io, [])).rejects.toThrow("flow-hash on cpu: output column 'flow' has 2 items, fewer than count 8");
    expect(Array.from(io.outputs.flow)).toEqual([7, 7]);
    const n = 4;
    const lookupIo = { count: n, inputs: { dst: new Int32Array(n), vrf: new Int32Array(n) }, outputs: { nextHop: new Int32Array(n) } };
    await expect(cpu.runKernel(IP_LOOKUP, lookupIo, [])).rejects.toThrow('ip-lookup on cpu: takes 1 structure(s) (multi-fib-v4), got 0');
  });

  it('the null backend rejects the same way, and reports default then measured costs', async () => {
    const nul = await getBackend('null');
    const before = nul.costs(IP_LOOKUP);
    expect(before.source).toBe('default');
    const fib = new MultiFib(['a']);
    fib.applyChanges([{ op: 'add', fib: 0, prefix: 0x0a000000, len: 8, nextHop: 0 }]);
    const h = await nul.loadStructure('multi-fib-v4', fib.image, fib.generation);
    const bad = { count: 3, inputs: { dst: new Int32Array(3), fib: new Int32Array(3) }, outputs: { nextHop: new Int32Array(3) } };
    await expect(nul.runKernel(IP_LOOKUP, bad, [h])).rejects.toThrow("ip-lookup on null: input column 'vrf' is missing");
    expect(nul.costs(IP_LOOKUP).source).toBe('default');
    const io = { count: 3, inputs: { dst: Int32Array.of(0x0a010203, 0x0b000000, 0x0a000001), vrf: new Int32Array(3) }, outputs: { nextHop: new Int32Array(3) } };
    const stats = await nul.runKernel(IP_LOOKUP, io, [h]);
    expect(Array.from(io.outputs.nextHop)).toEqual([0, -1, 0]);
    expect(stats.device?.simulatedNs).toBeGreaterThan(0);
    const after = nul.costs(IP_LOOKUP);
    expect(after).toMatchObject({ kernel: IP_LOOKUP, backend: 'null', source: 'measured', batches: 1, items: 3 });
    expect(after.perItemNs).toBeCloseTo((stats.hostMs * 1e6) / 3, 3);
    // Another kernel on the same backend has measured nothing yet.
    expect(nul.costs(FLOW_HASH).source).toBe('default');
    await nul.releaseStructure(h);
  });
});

describe('KernelStats', () => {
  it('keeps batches, items, host time and device sums per (kernel, backend, variant)', () => {
    const s = new KernelStats();
    s.record('ip-lookup', 'fpga', undefined, 100, { hostMs: 2, device: { cycles: 112 } });
    s.record('ip-lookup', 'fpga', undefined, 50, { hostMs: 1.5, device: { cycles: 62 } });
    s.record('ip-lookup', 'gpujs', 'webasm', 10, { hostMs: 0.25 });
    expect(s.get('ip-lookup', 'fpga')).toEqual({ kernel: 'ip-lookup', backend: 'fpga', batches: 2, items: 150, hostMs: 3.5, device: { cycles: 174 } });
    expect(s.text()).toBe('ip-lookup fpga batches 2 items 150 host_ms 3.500 cycles 174\nip-lookup gpujs/webasm batches 1 items 10 host_ms 0.250\n');
  });
});
