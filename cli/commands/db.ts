/**
 * `smart-steps db init|status|migrate|backup|restore`: the database's shape and its copies.
 * `init` creates the collections and indexes and records the schema version (idempotent: a
 * second run creates nothing and says so); `migrate` applies the pending migrations of
 * lib/store/migrations in order; `backup` and `restore` are in ./db-backup.ts.
 */
import { FieldCrypto } from '../../lib/crypto/fields';
import { restoreLeftovers } from '../../lib/store/inventory';
import { MIGRATIONS } from '../../lib/store/migrations';
import {
  initSchema,
  migrate,
  migrationId,
  schemaStatus,
  type SchemaStatus,
} from '../../lib/store/schema';
import { runBackup, runRestore } from './db-backup';
import { commandConfig, parseFlags, printTable, subcommand, when, withStore } from './support';

export async function runDb(args: string[]): Promise<void> {
  const [sub, rest] = subcommand(args, ['init', 'status', 'migrate', 'backup', 'restore']);
  if (sub === 'init') return init(rest);
  if (sub === 'status') return status(rest);
  if (sub === 'migrate') return runMigrate(rest);
  if (sub === 'backup') return runBackup(rest);
  return runRestore(rest);
}

async function init(args: string[]): Promise<void> {
  parseFlags(args, {});
  const config = commandConfig(args);
  const db = config.storage.connection.database;
  const result = await withStore(config, (store) => initSchema(store.db));
  if (result.indexes.length === 0) {
    process.stdout.write(`database ${db}: indexes already up to date\n`);
  } else {
    process.stdout.write(`database ${db}: created ${result.indexes.length} indexes\n`);
    for (const name of result.indexes) process.stdout.write(`  ${name}\n`);
  }
  if (result.collections.length) {
    process.stdout.write(`database ${db}: created ${result.collections.length} collections\n`);
  }
  const s = result.status;
  if (result.baselined) {
    process.stdout.write(`schema version ${s.version} (new database: nothing to migrate)\n`);
  } else {
    process.stdout.write(versionLine(s));
  }
}

function versionLine(s: SchemaStatus): string {
  if (s.pending.length === 0) return `schema version ${s.version} (up to date)\n`;
  return (
    `schema version ${s.version} of ${s.latest}: ${s.pending.length} migration(s) pending ` +
    `(${s.pending.map(migrationId).join(', ')}); run \`smart-steps db migrate\`\n`
  );
}

async function status(args: string[]): Promise<void> {
  const flags = parseFlags(args, { json: { type: 'boolean' } });
  const config = commandConfig(args);
  const db = config.storage.connection.database;
  const [s, leftovers] = await withStore(
    config,
    async (store) => [await schemaStatus(store.db), await restoreLeftovers(store.db)] as const,
  );
  const rows = MIGRATIONS.map((m) => {
    const r = s.applied.find((a) => a.version === m.version);
    return {
      id: migrationId(m),
      version: m.version,
      description: m.description,
      state: r ? (r.mode === 'baseline' ? 'baseline' : 'applied') : 'pending',
      applied_at: r?.applied_at ?? null,
      summary: r?.summary ?? null,
    };
  });
  // Records this release does not know (a newer release migrated the database).
  const unknown = s.applied
    .filter((r) => !MIGRATIONS.some((m) => m.version === r.version))
    .map((r) => ({
      id: r._id,
      version: r.version,
      description: null,
      state: 'unknown',
      applied_at: r.applied_at,
      summary: r.summary,
    }));
  if (flags.json) {
    process.stdout.write(
      JSON.stringify(
        {
          database: db,
          version: s.version,
          latest: s.latest,
          migrations: [...rows, ...unknown],
          restore_leftovers: leftovers,
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  process.stdout.write(`database ${db}: ${versionLine(s)}`);
  printTable(
    ['VERSION', 'MIGRATION', 'STATE', 'APPLIED'],
    [...rows, ...unknown].map((r) => [String(r.version), r.id, r.state, when(r.applied_at)]),
    'no migrations',
  );
  if (leftovers.length) {
    process.stdout.write(
      `collections left by an interrupted restore (drop them once checked): ${leftovers.join(', ')}\n`,
    );
  }
}

async function runMigrate(args: string[]): Promise<void> {
  const flags = parseFlags(args, { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } });
  const config = commandConfig(args);
  const db = config.storage.connection.database;
  // The keys the API computes blind indexes with (migrations re-key e-mail claims).
  const fields = FieldCrypto.fromConfig(config);
  const dryRun = flags['dry-run'] === true;
  const result = await withStore(config, (store) =>
    migrate(
      store.db,
      { fields, progress: (line) => process.stderr.write(`  ${line}\n`) },
      {
        dryRun,
        onStart: (m) => {
          if (!flags.json) process.stdout.write(`applying ${migrationId(m)}: ${m.description}\n`);
        },
        onDone: (_m, r) => {
          if (!flags.json) process.stdout.write(`  done in ${r.duration_ms} ms: ${r.summary}\n`);
        },
      },
    ),
  );
  const s = result.status;
  if (flags.json) {
    process.stdout.write(
      JSON.stringify(
        {
          database: db,
          dry_run: dryRun,
          applied: result.ran,
          pending: s.pending.map((m) => ({ id: migrationId(m), description: m.description })),
          indexes_created: result.indexes,
          version: s.version,
          latest: s.latest,
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  if (dryRun) {
    if (s.pending.length === 0) {
      process.stdout.write(`database ${db}: schema version ${s.version}, nothing to migrate\n`);
    } else {
      process.stdout.write(`database ${db}: schema version ${s.version}; would apply:\n`);
      for (const m of s.pending) process.stdout.write(`  ${migrationId(m)}: ${m.description}\n`);
    }
    return;
  }
  if (result.indexes.length) {
    process.stdout.write(
      `created ${result.indexes.length} indexes: ${result.indexes.join(', ')}\n`,
    );
  }
  process.stdout.write(
    result.ran.length === 0
      ? `database ${db}: schema version ${s.version}, nothing to migrate\n`
      : `database ${db}: schema version ${s.version}\n`,
  );
}
