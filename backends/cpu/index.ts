import type { Backend } from '../../core/backend.js';
import { CpuBackend } from './cpu-backend.js';

export { CpuBackend };

/** The factory `core/backend-registry.ts` calls. */
export function createBackend(): Backend {
  return new CpuBackend();
}
