import type { Db } from 'mongodb';
import type { FieldCrypto } from '../../crypto/fields';

export interface MigrationContext {
  db: Db;
  /** The configured keys: migrations that compute blind indexes or open values need them. */
  fields: FieldCrypto;
  /** A progress line for the operator (stderr), for migrations that take a while. */
  progress: (line: string) => void;
}

/**
 * One step of the stored data's shape. `up` must be idempotent — safe to run again on data it
 * already converted, and on data written by the current code — because with no transactions a
 * run can stop half-way (it is then repeated), and because `db init` records migrations as done
 * on a fresh database without running them. Write conditionally (on the value being replaced),
 * since the apps may be writing meanwhile.
 */
export interface Migration {
  /** Applied in this order; never renumber a released migration. */
  version: number;
  /** Stable kebab-case name; with the version it identifies the migration in the record. */
  name: string;
  description: string;
  /** Returns a one-line account of what it changed. */
  up(ctx: MigrationContext): Promise<string>;
}
