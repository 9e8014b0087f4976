import type { Backend } from '../../core/backend.js';
import { WebGpuBackend, type WebGpuOptions } from './webgpu-backend.js';

export { WebGpuBackend, type WebGpuOptions };

/** The factory `core/backend-registry.ts` calls. */
export function createBackend(options?: WebGpuOptions): Backend {
  return new WebGpuBackend(options);
}
