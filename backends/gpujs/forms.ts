/** The gpujs backend's forms: ip-lookup, one variant per gpu.js mode. */
import { registerKernel } from '../../core/kernel.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup.js';
import { NO_ROUTE } from '../../core/structures/multi-fib/image-format.js';
import type { GpuJsBackend } from './gpujs-backend.js';
import { lookupPositionKernel, POPCOUNT8, POW2_0_16 } from './lookup-kernel.js';

const VRF_CLAMP = 2 ** 24;

for (const mode of ['cpu', 'webasm', 'webgpu'] as const) {
  registerKernel<GpuJsBackend>({
    kernel: IP_LOOKUP,
    backend: 'gpujs',
    variant: mode,
    async run(backend, io, structures) {
      const s = backend.splitImage(structures[0]);
      const n = io.count;
      if (n === 0) return;
      const dst = io.inputs.dst;
      const vrf = io.inputs.vrf;
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
      const k = backend.kernel('ip-lookup', lookupPositionKernel as unknown as (...args: never[]) => number);
      k.setOutput([n]);
      const pos = await k(s.hi, s.lo, dstHi, dstLo, fib, POPCOUNT8, POW2_0_16, Math.max(1, s.fibCount));
      const out = io.outputs.nextHop;
      const image = s.image;
      for (let i = 0; i < n; i++) {
        const e = image[pos[i]];
        out[i] = e === NO_ROUTE ? -1 : e | 0;
      }
    },
  });
}
