/**
 * The programmatic trigger (the planner's call, `hetbox run --migrate`): migrate element
 * `name` of a running router to `to`. Elements keep their own Migrator; this finds it.
 */
import type { Router } from '../router.js';
import { MigrationRefused, type MigrateOptions, type Migrator } from './migrator.js';
import type { MigrationRecord } from './migration-record.js';

/** An element that can be migrated: it keeps a Migrator over its offload seam. */
export interface Migratable {
  migrator(): Migrator;
}

export function isMigratable(x: unknown): x is Migratable {
  return typeof x === 'object' && x !== null && typeof (x as Partial<Migratable>).migrator === 'function';
}

export function migrateElement(router: Router, name: string, to: string, opts: MigrateOptions = {}): Promise<MigrationRecord> {
  const node = router.graph.byName.get(name);
  if (node === undefined) return Promise.reject(new MigrationRefused(`migration: no element named '${name}'`));
  const el = node.element;
  if (!isMigratable(el)) return Promise.reject(new MigrationRefused(`migration: ${name} (${node.cls.className}) cannot migrate: it runs no offloadable kernel`));
  return el.migrator().migrate(to, opts);
}
