/**
 * `smart-steps db restore`: the database becomes what a verified backup holds. Without
 * transactions, "all or nothing" is built from renames:
 *
 * 1. load every collection into `<name>__restore_<token>` with its indexes (unique ones are
 *    enforced here) — a failure drops these and the live collections were never touched;
 * 2. move each live collection aside to `<name>__replaced_<token>`, then each loaded one into
 *    its name — a failure renames everything back;
 * 3. drop what was moved aside.
 *
 * Between the first and the last rename of step 2 (a few milliseconds per collection) readers
 * see a mix, so the API and workers should be stopped during a restore. Collections the database
 * has and the backup does not go too: the database ends up equal to the backup.
 */
import { randomBytes } from 'node:crypto';
import type { Db, IndexDescription } from 'mongodb';
import { COLLECTIONS } from '../collections';
import { appCollections, nonEmpty, restoreTemporaryName } from '../inventory';
import { BackupError, type IndexSpec } from './manifest';
import type { VerifiedBackup } from './read';

export interface RestoreOptions {
  /** Replace a database that holds data (without it only an empty one is restored into). */
  force?: boolean;
  progress?: (collection: string, documents: number, done: boolean) => void;
  progressEvery?: number;
}

export interface RestoreResult {
  collections: number;
  documents: number;
  /** Collections the database had that the backup did not (now dropped). */
  dropped: string[];
  /** Moved-aside collections that could not be dropped (left for the operator). */
  leftovers: string[];
}

/** The database holds data and `force` was not given; nothing was changed. */
export class RestoreRefusedError extends Error {}

export async function restoreBackup(
  db: Db,
  backup: VerifiedBackup,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const existing = await appCollections(db);
  if (!opts.force) {
    // The schema records alone (as `db init` leaves them) do not count as data: they are replaced.
    const holding = await nonEmpty(
      db,
      existing.filter((n) => n !== COLLECTIONS.schemaMigrations),
    );
    if (holding.length) {
      throw new RestoreRefusedError(
        `database ${db.databaseName} is not empty (${holding.join(', ')} hold documents); ` +
          'restore --force replaces its contents with the backup',
      );
    }
  }
  const token = randomBytes(4).toString('hex');
  const { manifest } = backup;
  const staged: string[] = [];
  let documents = 0;
  try {
    for (const c of manifest.collections) {
      const staging = restoreTemporaryName(c.name, 'restore', token);
      await db.createCollection(staging);
      staged.push(staging);
      documents += await load(db, backup, c.name, staging, opts);
      for (const index of c.indexes) await createIndex(db, staging, index);
    }
  } catch (err) {
    await dropAll(db, staged);
    throw new BackupError(
      `restore stopped while loading the backup (${(err as Error).message}); the database was not changed`,
    );
  }

  const movedAside: string[] = [];
  const placed: string[] = [];
  try {
    for (const name of existing) {
      await db.renameCollection(name, restoreTemporaryName(name, 'replaced', token));
      movedAside.push(name);
    }
    for (const c of manifest.collections) {
      await db.renameCollection(restoreTemporaryName(c.name, 'restore', token), c.name);
      placed.push(c.name);
    }
  } catch (err) {
    const undo = await putBack(db, token, placed, movedAside);
    await dropAll(
      db,
      manifest.collections
        .filter((c) => !placed.includes(c.name))
        .map((c) => restoreTemporaryName(c.name, 'restore', token)),
    );
    throw new BackupError(
      `restore failed while swapping collections (${(err as Error).message}); ` +
        (undo.length
          ? `could not put back: ${undo.join(', ')} — look for collections ending in _${token}`
          : 'the previous collections were put back'),
    );
  }

  const leftovers: string[] = [];
  for (const name of movedAside) {
    const aside = restoreTemporaryName(name, 'replaced', token);
    try {
      await db.collection(aside).drop();
    } catch {
      leftovers.push(aside);
    }
  }
  const inBackup = new Set(manifest.collections.map((c) => c.name));
  return {
    collections: manifest.collections.length,
    documents,
    dropped: existing.filter((n) => !inBackup.has(n)),
    leftovers,
  };
}

async function load(
  db: Db,
  backup: VerifiedBackup,
  name: string,
  staging: string,
  opts: RestoreOptions,
): Promise<number> {
  const col = db.collection(staging);
  const every = opts.progressEvery ?? 10_000;
  let count = 0;
  for await (const batch of backup.documents(name)) {
    // Ordered, as read: the same `_id` order the backup was written in.
    await col.insertMany(batch, { ordered: true });
    const before = count;
    count += batch.length;
    if (Math.floor(count / every) > Math.floor(before / every)) opts.progress?.(name, count, false);
  }
  opts.progress?.(name, count, true);
  return count;
}

async function createIndex(db: Db, collection: string, index: IndexSpec): Promise<void> {
  if (index.name === '_id_') return;
  const { key, ...options } = index;
  // One at a time: FerretDB 1.24 mishandles several in one createIndexes (see ensureIndexes).
  await db.collection(collection).createIndexes([{ key, ...options } as IndexDescription]);
}

/** Undoes step 2 in reverse; returns what could not be put back. */
async function putBack(
  db: Db,
  token: string,
  placed: string[],
  movedAside: string[],
): Promise<string[]> {
  const failed: string[] = [];
  for (const name of [...placed].reverse()) {
    try {
      await db.renameCollection(name, restoreTemporaryName(name, 'restore', token));
      await db.collection(restoreTemporaryName(name, 'restore', token)).drop();
    } catch {
      failed.push(name);
    }
  }
  for (const name of [...movedAside].reverse()) {
    try {
      await db.renameCollection(restoreTemporaryName(name, 'replaced', token), name);
    } catch {
      failed.push(name);
    }
  }
  return failed;
}

async function dropAll(db: Db, names: string[]): Promise<void> {
  for (const name of names)
    await db
      .collection(name)
      .drop()
      .catch(() => undefined);
}
