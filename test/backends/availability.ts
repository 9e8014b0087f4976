/** CI rule for backend tests: an unavailable backend fails under CI=true, elsewhere skips loudly. */
import type { Availability } from '../../core/backend.js';

export function requireOrWarn(label: string, a: Availability): boolean {
  if (a.available) return true;
  if (process.env.CI === 'true') throw new Error(`CI: backend ${label} must be available: ${a.reason}`);
  console.warn(`\n!!! SKIPPING ${label} tests: ${a.reason}\n`);
  return false;
}
