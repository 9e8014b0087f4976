import type { Backend } from '../../core/backend.js';
import { NullBackend, type NullBackendOptions } from './null-backend.js';

export { NullBackend, type NullBackendOptions };

/** The factory the backend registry calls (declared in `app/backend-catalog.ts`). */
export function createBackend(options?: NullBackendOptions): Backend {
  return new NullBackend(options);
}
