/** The null backend's forms: the CPU references (right answers, fake device). */
import { registerKernel } from '../../core/kernel.js';
import { IP_LOOKUP, ipLookupReference } from '../../core/kernels/ip-lookup.js';
import { FLOW_HASH, flowHashReference } from '../../core/kernels/flow-hash.js';
import type { NullBackend } from './null-backend.js';

registerKernel<NullBackend>({
  kernel: IP_LOOKUP,
  backend: 'null',
  run(backend, io, structures) {
    ipLookupReference(backend.structures.image(structures[0]), io);
  },
});

registerKernel<NullBackend>({
  kernel: FLOW_HASH,
  backend: 'null',
  run(_backend, io) {
    flowHashReference(io);
  },
});
