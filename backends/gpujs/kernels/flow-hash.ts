/**
 * The gpujs backend's form of kernel `flow-hash`, one variant per gpu.js mode: the Toeplitz hash
 * over 8-bit limbs (flow-hash-limbs.ts), exact in f32. The host splits src, dst and ports into
 * their 12 bytes and the port-protocol test (proto 6 or 17, `isPortProtocol`) into a flag; the
 * device XORs the per-byte tables' bytes and returns 16-bit halves, which the host joins.
 */
import { registerKernel } from '../../../core/kernel.js';
import { FLOW_HASH, flowHashContract, isPortProtocol, toeplitzTable } from '../../../core/kernels/flow-hash/index.js';
import type { GpuJsBackend } from '../gpujs-backend.js';
import { tableBytes, toeplitzHalfKernel, XOR8 } from './flow-hash-limbs.js';

const TABLE_BYTES = tableBytes(toeplitzTable());

for (const mode of ['cpu', 'webasm', 'webgpu'] as const) {
  registerKernel<GpuJsBackend, typeof flowHashContract>(flowHashContract, {
    backend: 'gpujs',
    variant: mode,
    source: import.meta.url,
    async run(backend, io) {
      const n = io.count;
      if (n === 0) return;
      const { src, dst, ports, proto } = io.inputs;
      const bytes = new Float32Array(12 * n);
      const withPorts = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const words = [src[i], dst[i], ports[i]];
        for (let w = 0; w < 3; w++) {
          const x = words[w];
          bytes[(4 * w) * n + i] = x >>> 24;
          bytes[(4 * w + 1) * n + i] = (x >>> 16) & 255;
          bytes[(4 * w + 2) * n + i] = (x >>> 8) & 255;
          bytes[(4 * w + 3) * n + i] = x & 255;
        }
        withPorts[i] = isPortProtocol(proto[i]) ? 1 : 0;
      }
      const k = backend.kernel(FLOW_HASH, toeplitzHalfKernel as unknown as (...args: never[]) => number);
      k.setOutput([2 * n]);
      const halves = await k(bytes, withPorts, TABLE_BYTES, XOR8, n);
      const out = io.outputs.flow;
      for (let i = 0; i < n; i++) out[i] = (halves[2 * i] * 65536 + halves[2 * i + 1]) | 0;
    },
  });
}
