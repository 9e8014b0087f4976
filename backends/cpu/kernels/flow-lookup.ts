/**
 * The cpu backend's form of kernel `flow-lookup`: the reference (`flowLookup` over the held
 * flow-table image, core/kernels/flow-lookup/reference.ts), with one key buffer reused across
 * batches so a stream of lookups does not allocate per batch.
 */
import { registerKernel } from '../../../core/kernel.js';
import { flowLookupContract, flowLookupReference } from '../../../core/kernels/flow-lookup/index.js';
import { KEY_WORDS } from '../../../core/flows/flow-key.js';
import type { CpuBackend } from '../cpu-backend.js';

// Grown to the largest batch seen; a run is synchronous, so one buffer serves every run.
let scratch = new Uint32Array(0);

registerKernel<CpuBackend, typeof flowLookupContract>(flowLookupContract, {
  backend: 'cpu',
  source: import.meta.url,
  run(backend, io, structures) {
    if (scratch.length < io.count * KEY_WORDS) scratch = new Uint32Array(io.count * KEY_WORDS);
    flowLookupReference(backend.structures.image(structures[0]), io, scratch);
  },
});
