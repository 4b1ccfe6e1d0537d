/**
 * The schema migrations, in the order they apply. Add new ones at the end with the next version;
 * never edit or renumber a released one (its record in `schema_migrations` names it).
 */
import { baseline } from './0001-baseline';
import { emailClaimsBlindIndex } from './0002-email-claims-blind-index';
import { webhookTaskSubjects } from './0003-webhook-task-subjects';
import type { Migration } from './types';

export type { Migration, MigrationContext } from './types';

export const MIGRATIONS: readonly Migration[] = [
  baseline,
  emailClaimsBlindIndex,
  webhookTaskSubjects,
];

/** The schema version this release writes: its last migration's. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
