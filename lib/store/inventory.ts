/**
 * What a database holds, for the `db` commands: its collections (without the server's own and
 * without a restore's temporary ones) and whether any of them has documents.
 */
import type { Db } from 'mongodb';
import { COLLECTIONS } from './collections';

/**
 * A restore loads into `<name>__restore_<token>` and moves what it replaces to
 * `<name>__replaced_<token>` before dropping it; an interrupted restore can leave either behind.
 */
const RESTORE_TEMPORARY = /__(restore|replaced)_[0-9a-f]{8}$/;

export function restoreTemporaryName(
  name: string,
  kind: 'restore' | 'replaced',
  token: string,
): string {
  return `${name}__${kind}_${token}`;
}

export function isRestoreTemporary(name: string): boolean {
  return RESTORE_TEMPORARY.test(name);
}

/** Collection names, sorted, without `system.*` ones and a restore's temporary ones. */
export async function appCollections(db: Db): Promise<string[]> {
  const all = await db.listCollections({}, { nameOnly: true }).toArray();
  return all
    .map((c) => c.name)
    .filter((name) => !name.startsWith('system.') && !isRestoreTemporary(name))
    .sort();
}

/** Leftovers of an interrupted restore, for the operator to look at and drop. */
export async function restoreLeftovers(db: Db): Promise<string[]> {
  const all = await db.listCollections({}, { nameOnly: true }).toArray();
  return all
    .map((c) => c.name)
    .filter(isRestoreTemporary)
    .sort();
}

/** The collections (of `names`) holding at least one document. */
export async function nonEmpty(db: Db, names: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) {
    if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) found.push(name);
  }
  return found;
}

/**
 * Creates the collections this release uses that do not exist yet (most would appear at their
 * first write; creating them up front makes a new database's shape visible and complete).
 * Returns the names created.
 */
export async function createMissingCollections(db: Db): Promise<string[]> {
  const existing = new Set(await appCollections(db));
  const created: string[] = [];
  for (const name of Object.values(COLLECTIONS)) {
    if (existing.has(name)) continue;
    try {
      await db.createCollection(name);
      created.push(name);
    } catch (err) {
      // Another process created it meanwhile (NamespaceExists).
      if ((err as { code?: unknown }).code !== 48) throw err;
    }
  }
  return created;
}
