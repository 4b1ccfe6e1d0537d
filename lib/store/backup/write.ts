/**
 * `smart-steps db backup`: every collection of the database into one archive (format in
 * ./manifest.ts). Documents are copied as stored — encrypted fields stay encrypted, so the
 * archive is no more readable than the database, and a restore needs the same keys.
 *
 * Consistency: there are no transactions or snapshots to lean on (FerretDB has neither), so each
 * collection is read in one cursor in `_id` order and the collections one after another. A
 * document written meanwhile may or may not be in the archive. For one point in time, stop the
 * API and workers first. The archive itself is self-consistent: counts and SHA-256 of what was
 * written, in a manifest written last, to a temporary name renamed into place only when complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { Db, Document } from 'mongodb';
import { ZipWriter } from '../zip';
import { appCollections } from '../inventory';
import { isSealed, sealedKeyId } from '../../crypto/sealed';
import {
  BackupError,
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  CONSISTENCY_NOTE,
  MANIFEST_FILE,
  RAW_READ,
  collectionFile,
  isBackupableName,
  serialiseDocument,
  type CollectionEntry,
  type IndexSpec,
  type Manifest,
} from './manifest';

export interface BackupOptions {
  output: string;
  /** Replace `output` if it exists. */
  overwrite?: boolean;
  appVersion: string;
  schema: Manifest['schema'];
  indexKeyCheck: string | null;
  /** Called every `progressEvery` documents of a collection and when it is done. */
  progress?: (collection: string, documents: number, done: boolean) => void;
  progressEvery?: number;
}

/** Lines are handed to the compressor in chunks of about this many characters. */
const CHUNK = 256 * 1024;

export async function writeBackup(db: Db, opts: BackupOptions): Promise<Manifest> {
  const createdAt = new Date();
  const dir = path.dirname(path.resolve(opts.output));
  const partial = path.join(
    dir,
    `.${path.basename(opts.output)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`,
  );
  const zip = await ZipWriter.create(partial, createdAt);
  const keyIds = new Set<string>();
  try {
    const collections: CollectionEntry[] = [];
    const names = await appCollections(db);
    // Refused now rather than by the restore that would need the backup.
    const odd = names.filter((n) => !isBackupableName(n));
    if (odd.length) {
      throw new BackupError(
        `collection name(s) this backup format cannot hold: ${odd.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
    for (const name of names) {
      collections.push(await writeCollection(db, zip, name, keyIds, opts));
    }
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      format_version: BACKUP_FORMAT_VERSION,
      created_at: createdAt.toISOString(),
      completed_at: new Date().toISOString(),
      app_version: opts.appVersion,
      database: db.databaseName,
      schema: opts.schema,
      collections,
      encryption: { key_ids: [...keyIds].sort(), index_key_check: opts.indexKeyCheck },
      consistency: CONSISTENCY_NOTE,
    };
    await zip.add(MANIFEST_FILE, [JSON.stringify(manifest, null, 2) + '\n']);
    await zip.close();
    await moveIntoPlace(partial, opts.output, opts.overwrite === true);
    return manifest;
  } catch (err) {
    await zip.abandon();
    await rm(partial, { force: true });
    throw err;
  }
}

async function moveIntoPlace(partial: string, output: string, overwrite: boolean): Promise<void> {
  if (overwrite) return rename(partial, output);
  try {
    // link() refuses an existing target, where rename() would silently replace it.
    await link(partial, output);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BackupError(`${output} appeared while the backup was written`);
    // Filesystems without hard links: the check before the backup started has to do.
    if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(code ?? '')) throw err;
    if (existsSync(output))
      throw new BackupError(`${output} appeared while the backup was written`);
    return rename(partial, output);
  }
  await rm(partial);
}

async function writeCollection(
  db: Db,
  zip: ZipWriter,
  name: string,
  keyIds: Set<string>,
  opts: BackupOptions,
): Promise<CollectionEntry> {
  const col = db.collection(name);
  const indexes = (await col.listIndexes().toArray()).map(indexSpec);
  const hash = createHash('sha256');
  let count = 0;
  const every = opts.progressEvery ?? 10_000;
  async function* lines(): AsyncGenerator<string> {
    let chunk = '';
    const cursor = col.find({}, { ...RAW_READ, sort: { _id: 1 }, batchSize: 1000 });
    for await (const doc of cursor) {
      collectKeyIds(doc, keyIds);
      const line = serialiseDocument(doc) + '\n';
      hash.update(line, 'utf8');
      chunk += line;
      count++;
      if (count % every === 0) opts.progress?.(name, count, false);
      if (chunk.length >= CHUNK) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  const bytes = await zip.add(collectionFile(name), lines());
  opts.progress?.(name, count, true);
  return {
    name,
    file: collectionFile(name),
    count,
    bytes,
    sha256: hash.digest('hex'),
    indexes,
  };
}

/** What a restore needs to rebuild an index; the server's bookkeeping (`v`, `ns`) is left out. */
function indexSpec(index: Document): IndexSpec {
  const { v: _v, ns: _ns, ...rest } = index;
  return rest as IndexSpec;
}

/** Key ids of sealed values anywhere in the document (`ss1:<key id>:…`). */
function collectKeyIds(value: unknown, into: Set<string>): void {
  if (isSealed(value)) {
    into.add(sealedKeyId(value)!);
  } else if (Array.isArray(value)) {
    for (const v of value) collectKeyIds(v, into);
  } else if (typeof value === 'object' && value !== null && !('_bsontype' in value)) {
    for (const v of Object.values(value)) collectKeyIds(v, into);
  }
}
