/** The CLI's door to the backend registry: `--backend NAME` parsing and the Router's provider. */
import type { Backend, BackendName } from '../backend.js';
import { backendNameSchema, getBackend } from '../backend-registry.js';
import { UsageError } from './usage-error.js';

export function parseBackendName(text: string): BackendName {
  const r = backendNameSchema.safeParse(text);
  if (!r.success) throw new UsageError(`--backend: unknown backend '${text}' (expected ${backendNameSchema.options.join(', ')})`);
  return r.data;
}

export function backendProvider(): (name: BackendName) => Promise<Backend> {
  return (name) => getBackend(name);
}
