import type { Backend } from '../../core/backend.js';
import { CpuBackend } from './cpu-backend.js';

export { CpuBackend };

/** The factory the backend registry calls (declared in `app/backend-catalog.ts`). */
export function createBackend(): Backend {
  return new CpuBackend();
}
