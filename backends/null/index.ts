import type { Backend } from '../../core/backend.js';
import { NullBackend, type NullBackendOptions } from './null-backend.js';

export { NullBackend, type NullBackendOptions };

/** The factory `core/backend-registry.ts` calls. */
export function createBackend(options?: NullBackendOptions): Backend {
  return new NullBackend(options);
}
