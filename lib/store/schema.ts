/**
 * The schema version of a database and the migrations that move it forward: `db init`, `db
 * migrate` and `db status`. Each applied migration is a document in `schema_migrations`
 * (`_id` = `0002-email-claims-blind-index`), written after the migration finished; the database's
 * version is the highest version applied without a gap.
 *
 * No locks: migrations are idempotent and write conditionally, so two runs at once do the same
 * work twice at worst, and recording is an upsert by `_id`.
 */
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { COLLECTIONS, ensureIndexes } from './collections';
import { appCollections, createMissingCollections, nonEmpty } from './inventory';
import { MIGRATIONS, SCHEMA_VERSION, type Migration, type MigrationContext } from './migrations';

export interface MigrationRecord {
  _id: string;
  version: number;
  name: string;
  /** Of version and name: tells a record made by another migration under the same number. */
  checksum: string;
  applied_at: string;
  /** `baseline`: recorded by `db init` on a database with no data, without running it. */
  mode: 'applied' | 'baseline';
  duration_ms: number;
  summary: string;
}

export interface SchemaStatus {
  /** The highest version applied with none missing below it (0: none). */
  version: number;
  /** The version this release writes. */
  latest: number;
  applied: MigrationRecord[];
  pending: Migration[];
}

/** The database's records disagree with this release's migrations; nothing was run. */
export class SchemaMismatchError extends Error {}

export function migrationId(m: Pick<Migration, 'version' | 'name'>): string {
  return `${String(m.version).padStart(4, '0')}-${m.name}`;
}

export function migrationChecksum(m: Pick<Migration, 'version' | 'name'>): string {
  return createHash('sha256').update(`${m.version}\n${m.name}`).digest('hex').slice(0, 16);
}

function records(db: Db) {
  return db.collection<MigrationRecord>(COLLECTIONS.schemaMigrations);
}

export async function schemaStatus(db: Db): Promise<SchemaStatus> {
  const applied = await records(db).find({}).sort({ version: 1 }).toArray();
  const done = new Set(applied.map((r) => r.version));
  let version = 0;
  while (done.has(version + 1)) version++;
  return {
    version,
    latest: SCHEMA_VERSION,
    applied,
    pending: MIGRATIONS.filter((m) => !done.has(m.version)),
  };
}

/**
 * Refuses records this release cannot vouch for: a version it does not have (the database was
 * migrated by a newer release) or a different migration under a known number.
 */
export function checkRecords(status: SchemaStatus): void {
  for (const r of status.applied) {
    const m = MIGRATIONS.find((x) => x.version === r.version);
    if (!m) {
      throw new SchemaMismatchError(
        `the database has migration ${r._id}, which this release does not know (schema version ${SCHEMA_VERSION}); it was migrated by a newer release`,
      );
    }
    if (r.checksum !== migrationChecksum(m)) {
      throw new SchemaMismatchError(
        `migration ${r.version} is recorded as ${r._id} but this release's is ${migrationId(m)}`,
      );
    }
  }
}

async function record(
  db: Db,
  m: Migration,
  mode: MigrationRecord['mode'],
  durationMs: number,
  summary: string,
): Promise<void> {
  const _id = migrationId(m);
  await records(db).updateOne(
    { _id },
    {
      $setOnInsert: {
        version: m.version,
        name: m.name,
        checksum: migrationChecksum(m),
        applied_at: new Date().toISOString(),
        mode,
        duration_ms: durationMs,
        summary,
      },
    },
    { upsert: true },
  );
}

export interface InitResult {
  collections: string[];
  indexes: string[];
  /** True when this run recorded the migrations of a database without data as done. */
  baselined: boolean;
  status: SchemaStatus;
}

/**
 * Collections and indexes (migration 1, run every time so a release's new indexes appear), and
 * the schema version. A database with no data yet is at the latest version by definition, so its
 * migrations are recorded as done; one with data (made before migrations were recorded) keeps
 * the rest pending for `db migrate`.
 */
export async function initSchema(db: Db): Promise<InitResult> {
  let status = await schemaStatus(db);
  checkRecords(status);
  const dataCollections = (await appCollections(db)).filter(
    (name) => name !== COLLECTIONS.schemaMigrations,
  );
  const fresh = status.applied.length === 0 && (await nonEmpty(db, dataCollections)).length === 0;
  const collections = await createMissingCollections(db);
  const indexes = await ensureIndexes(db);
  const baseline = MIGRATIONS[0]!;
  if (!status.applied.some((r) => r.version === baseline.version)) {
    await record(
      db,
      baseline,
      'applied',
      0,
      `${collections.length} collection(s) and ${indexes.length} index(es) created`,
    );
  }
  if (fresh) {
    for (const m of MIGRATIONS.slice(1)) await record(db, m, 'baseline', 0, 'new database');
  }
  status = await schemaStatus(db);
  return { collections, indexes, baselined: fresh, status };
}

export interface MigrateResult {
  ran: { id: string; summary: string; duration_ms: number }[];
  /** Indexes created after the migrations (a release's new ones). */
  indexes: string[];
  status: SchemaStatus;
}

/** Runs the pending migrations in order, recording each once it finished. */
export async function migrate(
  db: Db,
  ctx: Omit<MigrationContext, 'db'>,
  opts: {
    dryRun?: boolean;
    onStart?: (m: Migration) => void;
    onDone?: (m: Migration, ran: MigrateResult['ran'][number]) => void;
  } = {},
): Promise<MigrateResult> {
  const before = await schemaStatus(db);
  checkRecords(before);
  if (opts.dryRun) return { ran: [], indexes: [], status: before };
  const ran: MigrateResult['ran'] = [];
  for (const m of before.pending) {
    opts.onStart?.(m);
    const started = Date.now();
    const summary = await m.up({ ...ctx, db });
    const duration = Date.now() - started;
    await record(db, m, 'applied', duration, summary);
    const done = { id: migrationId(m), summary, duration_ms: duration };
    ran.push(done);
    opts.onDone?.(m, done);
  }
  const indexes = await ensureIndexes(db);
  return { ran, indexes, status: await schemaStatus(db) };
}
