import type { Backend } from '../../core/backend.js';
import { WebGpuBackend, type WebGpuOptions } from './webgpu-backend.js';

export { WebGpuBackend, type WebGpuOptions };

/** The factory the backend registry calls (declared in `app/backend-catalog.ts`). */
export function createBackend(options?: WebGpuOptions): Backend {
  return new WebGpuBackend(options);
}
