/** The gpujs backend's form of kernel `ip-lookup`, one variant per gpu.js mode (the walk: ip-lookup-walk.ts). */
import { registerKernel } from '../../../core/kernel.js';
import { IP_LOOKUP, ipLookupContract } from '../../../core/kernels/ip-lookup/index.js';
import { NARROW_NO_ROUTE, NO_ROUTE } from '../../../core/structures/multi-fib/image-format.js';
import type { GpuJsBackend } from '../gpujs-backend.js';
import { lookupPositionKernel, POPCOUNT8, POW2_0_16 } from './ip-lookup-walk.js';

const VRF_CLAMP = 2 ** 24;

for (const mode of ['cpu', 'webasm', 'webgpu'] as const) {
  registerKernel<GpuJsBackend, typeof ipLookupContract>(ipLookupContract, {
    backend: 'gpujs',
    variant: mode,
    source: import.meta.url,
    async run(backend, io, structures) {
      const s = backend.splitImage(structures[0]);
      const n = io.count;
      if (n === 0) return;
      const { dst, vrf } = io.inputs;
      const dstHi = new Float32Array(n);
      const dstLo = new Float32Array(n);
      const fib = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        dstHi[i] = dst[i] >>> 16;
        dstLo[i] = dst[i] & 0xffff;
        // Out of f32's exact range a FIB number matches no record either way: clamp keeps the answer.
        const v = vrf[i];
        fib[i] = v < 0 ? -1 : v > VRF_CLAMP ? VRF_CLAMP : v;
      }
      const k = backend.kernel(IP_LOOKUP, lookupPositionKernel as unknown as (...args: never[]) => number);
      k.setOutput([n]);
      const pos = await k(s.hi, s.lo, dstHi, dstLo, fib, POPCOUNT8, POW2_0_16, Math.max(1, s.fibCount));
      const out = io.outputs.nextHop;
      const image = s.image;
      for (let i = 0; i < n; i++) {
        const p = pos[i];
        if (p < 0) {
          // A narrow node's 16-bit run entry, returned as -1 - half (ip-lookup-walk.ts).
          const half = -1 - p;
          out[i] = half === NARROW_NO_ROUTE ? -1 : half;
        } else {
          const e = image[p];
          out[i] = e === NO_ROUTE ? -1 : e | 0;
        }
      }
    },
  });
}
