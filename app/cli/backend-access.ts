/** The CLI's door to the backend registry: `--backend NAME` parsing and the Router's provider. */
import type { Backend, BackendName } from '../../core/backend.js';
import { backendNames, backendNameSchema, getBackend } from '../../core/backend-registry.js';
import { UsageError } from './usage-error.js';

export function parseBackendName(text: string): BackendName {
  const r = backendNameSchema.safeParse(text);
  if (!r.success) throw new UsageError(`--backend: unknown backend '${text}' (expected ${backendNames().join(', ')})`);
  return r.data;
}

export function backendProvider(): (name: BackendName) => Promise<Backend> {
  return (name) => getBackend(name);
}
