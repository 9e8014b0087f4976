/** The gpujs backend's kernel forms, one file per kernel (flow-lookup has none yet: see core/kernels/flow-lookup/README.md). */
import './ip-lookup.js';
import './flow-hash.js';
