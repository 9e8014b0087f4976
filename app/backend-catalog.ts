/**
 * The backends hetbox ships, declared once. This is the only list of backend names: core has
 * the registry mechanism, each backend lives in `backends/<name>/`, and adding one is one line
 * here. Loading is lazy (a dynamic import), so a backend whose native module cannot load is
 * reported unavailable with its reason instead of breaking start-up.
 */
import { backendNames, registerBackendModule } from '../core/backend-registry.js';

/** Declare every backend (idempotent: the CLI, the bench and the test set-up all call it). */
export function registerBackends(): void {
  if (backendNames().length > 0) return;
  registerBackendModule({ name: 'cpu', load: () => import('../backends/cpu/index.js') });
  registerBackendModule({ name: 'webgpu', load: () => import('../backends/webgpu/index.js') });
  registerBackendModule({ name: 'gpujs', load: () => import('../backends/gpujs/index.js'), variants: ['webasm', 'webgpu', 'cpu'] });
  registerBackendModule({ name: 'fpga', load: () => import('../backends/fpga/index.js') });
  registerBackendModule({ name: 'null', load: () => import('../backends/null/index.js') });
}
