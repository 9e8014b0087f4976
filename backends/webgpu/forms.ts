/** The webgpu backend's kernel forms: which WGSL program a kernel runs and what it binds. */
import { registerKernel } from '../../core/kernel.js';
import { IP_LOOKUP } from '../../core/kernels/ip-lookup.js';
import { FLOW_HASH, toeplitzTable } from '../../core/kernels/flow-hash.js';
import type { WebGpuBackend } from './webgpu-backend.js';
import { wgslPrograms } from './program-registry.js';
import { FLOW_HASH_WGSL, IP_LOOKUP_WGSL } from './wgsl-programs.js';

const flowTable = toeplitzTable();

wgslPrograms.set(IP_LOOKUP, (backend, structures) => {
  if (structures.length < 1) throw new Error(`webgpu: ${IP_LOOKUP} needs its multi-fib-v4 structure`);
  return { program: IP_LOOKUP_WGSL, extras: [backend.structureBuffer(structures[0])] };
});

wgslPrograms.set(FLOW_HASH, (backend) => ({ program: FLOW_HASH_WGSL, extras: [backend.constantBuffer('toeplitz-default', flowTable)] }));

for (const kernel of [IP_LOOKUP, FLOW_HASH]) {
  registerKernel<WebGpuBackend>({
    kernel,
    backend: 'webgpu',
    run: (backend, io, structures) => backend.runProgram(backend.program(kernel, structures), io),
  });
}
