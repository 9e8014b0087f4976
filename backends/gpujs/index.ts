import type { Backend } from '../../core/backend.js';
import { GpuJsBackend, GPUJS_MODES, type GpuJsMode } from './gpujs-backend.js';

export { GpuJsBackend, GPUJS_MODES, type GpuJsMode };

/** The factory the backend registry calls (declared in `app/backend-catalog.ts`); the variant is the gpu.js mode. */
export function createBackend(options?: { variant?: string }): Backend {
  const mode = options?.variant ?? 'webasm';
  if (!(GPUJS_MODES as readonly string[]).includes(mode)) throw new Error(`gpujs: unknown mode '${mode}' (${GPUJS_MODES.join(', ')})`);
  return new GpuJsBackend({ mode: mode as GpuJsMode });
}
