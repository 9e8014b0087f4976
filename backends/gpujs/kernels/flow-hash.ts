/**
 * The gpujs backend's form of kernel `flow-hash`, one variant per gpu.js mode: the Toeplitz hash
 * over 8-bit limbs (flow-hash-limbs.ts), exact in f32. The host splits src, dst and ports into
 * their 12 bytes and the port-protocol test (proto 6 or 17, `isPortProtocol`) into a flag; the
 * device XORs the per-byte tables' bytes and returns 16-bit halves, which the host joins.
 * A byte's index (12 * count + item) and a half's (2 * count) must stay below 2^24 to be exact
 * in f32, so a batch runs in calls of at most MAX_FLOWS_PER_CALL items.
 */
import { registerKernel } from '../../../core/kernel.js';
import { FLOW_HASH, flowHashContract, isPortProtocol, toeplitzTable } from '../../../core/kernels/flow-hash/index.js';
import type { GpuJsBackend } from '../gpujs-backend.js';
import { tableBytes, toeplitzHalfKernel, XOR8 } from './flow-hash-limbs.js';

const TABLE_BYTES = tableBytes(toeplitzTable());

/** Items per kernel call: their 12 byte columns keep every index below 2^24. */
export const MAX_FLOWS_PER_CALL = 2 ** 20;
if (12 * MAX_FLOWS_PER_CALL >= 2 ** 24) throw new Error('gpujs flow-hash: MAX_FLOWS_PER_CALL lets byte indices reach 2^24');

for (const mode of ['cpu', 'webasm', 'webgpu'] as const) {
  registerKernel<GpuJsBackend, typeof flowHashContract>(flowHashContract, {
    backend: 'gpujs',
    variant: mode,
    source: import.meta.url,
    async run(backend, io) {
      const n = io.count;
      if (n === 0) return;
      const { src, dst, ports, proto } = io.inputs;
      const k = backend.kernel(FLOW_HASH, toeplitzHalfKernel as unknown as (...args: never[]) => number);
      const out = io.outputs.flow;
      for (let from = 0; from < n; from += MAX_FLOWS_PER_CALL) {
        const m = Math.min(MAX_FLOWS_PER_CALL, n - from);
        const bytes = new Float32Array(12 * m);
        const withPorts = new Float32Array(m);
        for (let i = 0; i < m; i++) {
          const words = [src[from + i], dst[from + i], ports[from + i]];
          for (let w = 0; w < 3; w++) {
            const x = words[w];
            bytes[(4 * w) * m + i] = x >>> 24;
            bytes[(4 * w + 1) * m + i] = (x >>> 16) & 255;
            bytes[(4 * w + 2) * m + i] = (x >>> 8) & 255;
            bytes[(4 * w + 3) * m + i] = x & 255;
          }
          withPorts[i] = isPortProtocol(proto[from + i]) ? 1 : 0;
        }
        k.setOutput([2 * m]);
        const halves = await k(bytes, withPorts, TABLE_BYTES, XOR8, m);
        for (let i = 0; i < m; i++) out[from + i] = (halves[2 * i] * 65536 + halves[2 * i + 1]) | 0;
      }
    },
  });
}
