/**
 * `smart-steps db backup --output FILE.zip` and `db restore --input FILE.zip`. Progress goes to
 * stderr (every 10,000 documents of a collection), the outcome to stdout; no key material or
 * document content is printed. A restore checks the whole file before it connects to the
 * database, and refuses a damaged, truncated, altered or foreign file with exit code 1.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { FieldCrypto } from '../../lib/crypto/fields';
import { ensureIndexes } from '../../lib/store/collections';
import { SCHEMA_VERSION } from '../../lib/store/migrations';
import { schemaStatus } from '../../lib/store/schema';
import { BackupError } from '../../lib/store/backup/manifest';
import { openBackup } from '../../lib/store/backup/read';
import { restoreBackup } from '../../lib/store/backup/restore';
import { writeBackup } from '../../lib/store/backup/write';
import { VERSION } from '../../lib/version';
import { UsageError } from '../index';
import { commandConfig, parseFlags, required, withStore } from './support';

/** A blind index of this (no one's) address tells whether two keyrings share the index key. */
const INDEX_KEY_CHECK_TOKEN = 'index-key-check@backup.smart-steps.invalid';

function progress(collection: string, documents: number, done: boolean): void {
  process.stderr.write(`  ${collection}: ${documents} documents${done ? '' : '…'}\n`);
}

/** The configured keys, or none (a backup and a restore work without them; they only warn). */
function configuredFields(config: Config): FieldCrypto | undefined {
  try {
    const fields = FieldCrypto.fromConfig(config);
    return fields.keyring ? fields : undefined;
  } catch {
    return undefined;
  }
}

export async function runBackup(args: string[]): Promise<void> {
  const flags = parseFlags(args, { output: { type: 'string' }, force: { type: 'boolean' } });
  const output = path.resolve(required(flags.output, 'output'));
  if (existsSync(output) && !flags.force) {
    throw new UsageError(`${output} already exists (--force replaces it)`);
  }
  const dir = path.dirname(output);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`no directory ${dir} to write the backup in`);
  }
  const config = commandConfig(args);
  const fields = configuredFields(config);
  const manifest = await withStore(config, async (store) => {
    const schema = await schemaStatus(store.db);
    return writeBackup(store.db, {
      output,
      overwrite: flags.force === true,
      appVersion: VERSION,
      schema: { version: schema.version, migrations: schema.applied.map((r) => r._id) },
      indexKeyCheck: fields?.emailIndex(INDEX_KEY_CHECK_TOKEN) ?? null,
      progress: (name, n, done) => {
        if (n >= 10_000) progress(name, n, done);
      },
    });
  });
  const documents = manifest.collections.reduce((n, c) => n + c.count, 0);
  process.stdout.write(
    `backup of database ${manifest.database} written to ${output}: ` +
      `${manifest.collections.length} collections, ${documents} documents, ` +
      `${formatBytes(statSync(output).size)}, schema version ${manifest.schema.version}\n`,
  );
  if (manifest.encryption.key_ids.length) {
    process.stdout.write(
      `encrypted values are under key(s) ${manifest.encryption.key_ids.join(', ')}: the backup does ` +
        'not hold keys; keep the key file backed up apart from it, a restore cannot read them without it\n',
    );
  }
}

export async function runRestore(args: string[]): Promise<void> {
  const flags = parseFlags(args, { input: { type: 'string' }, force: { type: 'boolean' } });
  const input = path.resolve(required(flags.input, 'input'));
  if (!existsSync(input) || !statSync(input).isFile()) throw new UsageError(`no file ${input}`);
  const config = commandConfig(args);

  const refuse = (why: string) =>
    new Error(`refusing ${path.basename(input)}: ${why}; the database was not changed`);
  let backup: Awaited<ReturnType<typeof openBackup>>;
  try {
    backup = await openBackup(input);
  } catch (err) {
    if (err instanceof BackupError) throw refuse(err.message);
    throw err;
  }
  const { manifest } = backup;
  if (manifest.schema.version > SCHEMA_VERSION) {
    throw refuse(
      `the backup is at schema version ${manifest.schema.version}, newer than this release's ${SCHEMA_VERSION}; restore it with the release that made it (${manifest.app_version})`,
    );
  }
  warnAboutKeys(manifest.encryption, configuredFields(config));

  const result = await withStore(config, async (store) => {
    const restored = await restoreBackup(store.db, backup, {
      force: flags.force === true,
      progress: (name, n, done) => {
        if (n >= 10_000) progress(name, n, done);
      },
    });
    const indexes = await ensureIndexes(store.db);
    return { ...restored, indexes };
  });
  process.stdout.write(
    `restored ${result.documents} documents in ${result.collections} collections from ${input} ` +
      `(database ${manifest.database}, backed up ${manifest.created_at}, schema version ${manifest.schema.version})\n`,
  );
  if (result.dropped.length) {
    process.stdout.write(
      `dropped collections the backup did not have: ${result.dropped.join(', ')}\n`,
    );
  }
  if (result.indexes.length) {
    process.stdout.write(`created ${result.indexes.length} indexes this release uses\n`);
  }
  if (result.leftovers.length) {
    process.stderr.write(
      `warning: could not drop the replaced collections ${result.leftovers.join(', ')}; drop them by hand\n`,
    );
  }
  if (manifest.schema.version < SCHEMA_VERSION) {
    process.stdout.write(
      `schema version ${manifest.schema.version} of ${SCHEMA_VERSION}: run \`smart-steps db migrate\`\n`,
    );
  }
}

/**
 * Values the configured keys cannot open are still restored as they are (adding the missing key
 * version to the key file makes them readable), so these are warnings, not refusals.
 */
function warnAboutKeys(
  encryption: { key_ids: string[]; index_key_check: string | null },
  fields: FieldCrypto | undefined,
): void {
  const known = new Set(fields?.keyring?.versions ?? []);
  const missing = encryption.key_ids.filter((id) => !known.has(id));
  if (missing.length) {
    process.stderr.write(
      `warning: the backup holds values encrypted under key(s) ${missing.join(', ')}, which the configured keys lack; ` +
        'they stay unreadable until the key file has them\n',
    );
  }
  if (
    fields &&
    encryption.index_key_check !== null &&
    fields.emailIndex(INDEX_KEY_CHECK_TOKEN) !== encryption.index_key_check
  ) {
    process.stderr.write(
      'warning: the backup was made under another blind-index key; client search and e-mail uniqueness ' +
        'will not match its clients until that index_key is configured\n',
    );
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
