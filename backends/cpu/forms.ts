/**
 * The cpu backend's kernel forms: ip-lookup is the multi-FIB engineer's `lookupBatch` (the
 * same walk as `lookupImage`, written for V8's int32 fast path; the kernel suite holds it to
 * `lookupImage`), flow-hash is the table-driven reference.
 */
import { registerKernel } from '../../core/kernel.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup.js';
import { lookupBatch } from '../../core/structures/multi-fib/lookup-batch.js';
import { FLOW_HASH, flowHashReference } from '../../core/kernels/flow-hash.js';
import type { CpuBackend } from './cpu-backend.js';

registerKernel<CpuBackend>({
  kernel: IP_LOOKUP,
  backend: 'cpu',
  run(backend, io, structures) {
    const img = backend.structures.image(structures[0]);
    const dst = io.inputs.dst;
    const vrf = io.inputs.vrf;
    const out = io.outputs.nextHop;
    if (dst.length < io.count || vrf.length < io.count || out.length < io.count) throw new Error(`cpu: ip-lookup columns are shorter than count ${io.count}`);
    lookupBatch(new Int32Array(img.buffer, img.byteOffset, img.length), vrf, dst, out, io.count);
  },
});

registerKernel<CpuBackend>({
  kernel: FLOW_HASH,
  backend: 'cpu',
  run(_backend, io) {
    flowHashReference(io);
  },
});
