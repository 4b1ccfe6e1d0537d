/**
 * Opening a backup for `smart-steps db restore`, checked through before anything is written: the
 * ZIP's structure and CRCs, the manifest (ours, a format this release reads), and for every
 * collection its file's size, SHA-256, document count and that every line is a document. A
 * truncated, damaged, altered or foreign file is refused here with one line saying why.
 */
import { createHash, type Hash } from 'node:crypto';
import { ZipError, ZipReader, type ZipEntry } from '../zip';
import {
  BackupError,
  MANIFEST_FILE,
  parseDocument,
  parseManifest,
  type CollectionEntry,
  type Manifest,
} from './manifest';

/** No real manifest comes near this; a larger one is not ours. */
const MANIFEST_LIMIT = 16 * 1024 * 1024;

export interface VerifiedBackup {
  file: string;
  manifest: Manifest;
  /**
   * The collection's documents in batches, read again from the file and checked again (the file
   * could change after it was verified): the last batch comes only after the checksum matched.
   */
  documents(name: string, batchSize?: number): AsyncGenerator<Record<string, unknown>[]>;
}

export async function openBackup(file: string): Promise<VerifiedBackup> {
  let zip: ZipReader;
  try {
    zip = await ZipReader.open(file);
  } catch (err) {
    throw damaged(err);
  }
  const manifestEntry = zip.entries.get(MANIFEST_FILE);
  if (!manifestEntry) throw new BackupError('not a Smart Steps backup: it has no manifest.json');
  let manifestText: string;
  try {
    manifestText = (await zip.readAll(manifestEntry, MANIFEST_LIMIT)).toString('utf8');
  } catch (err) {
    throw damaged(err);
  }
  const manifest = parseManifest(manifestText);
  const entries = new Map<string, { meta: CollectionEntry; entry: ZipEntry }>();
  for (const meta of manifest.collections) {
    const entry = zip.entries.get(meta.file);
    if (!entry) throw new BackupError(`the backup is incomplete: ${meta.file} is missing`);
    entries.set(meta.name, { meta, entry });
  }
  for (const { meta, entry } of entries.values()) {
    // Nothing kept: this pass only proves every line parses and the totals match.
    for await (const _batch of checkedDocuments(zip, meta, entry, 1000)) void _batch;
  }
  return {
    file,
    manifest,
    documents(name, batchSize = 1000) {
      const found = entries.get(name);
      if (!found) throw new BackupError(`the backup has no collection ${name}`);
      return checkedDocuments(zip, found.meta, found.entry, batchSize);
    },
  };
}

async function* checkedDocuments(
  zip: ZipReader,
  meta: CollectionEntry,
  entry: ZipEntry,
  batchSize: number,
): AsyncGenerator<Record<string, unknown>[]> {
  const hash = createHash('sha256');
  let count = 0;
  let bytes = 0;
  let rest = Buffer.alloc(0);
  let batch: Record<string, unknown>[] = [];
  const take = (line: Buffer) => {
    count++;
    try {
      batch.push(parseDocument(line.toString('utf8')));
    } catch (err) {
      throw new BackupError(
        `the backup is damaged or was altered: ${meta.file}, document ${count}: ${(err as Error).message}`,
      );
    }
  };
  try {
    for await (const chunk of zip.read(entry)) {
      hash.update(chunk);
      bytes += chunk.length;
      // Splitting on the newline byte is safe in UTF-8: it never occurs inside a character.
      let data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        take(data.subarray(0, nl));
        data = data.subarray(nl + 1);
      }
      rest = Buffer.from(data);
      // Hold the last batch back until the checksum is known to match.
      while (batch.length > batchSize) yield batch.splice(0, batchSize);
    }
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw damaged(err);
  }
  if (rest.length) take(rest);
  verifyTotals(meta, hash, count, bytes);
  while (batch.length) {
    const next = batch.slice(0, batchSize);
    batch = batch.slice(batchSize);
    yield next;
  }
}

function verifyTotals(meta: CollectionEntry, hash: Hash, count: number, bytes: number): void {
  if (bytes !== meta.bytes || hash.digest('hex') !== meta.sha256) {
    throw new BackupError(
      `the backup is damaged or was altered: ${meta.file} does not match its SHA-256 in the manifest`,
    );
  }
  if (count !== meta.count) {
    throw new BackupError(
      `the backup is damaged or was altered: ${meta.file} holds ${count} documents, the manifest says ${meta.count}`,
    );
  }
}

function damaged(err: unknown): BackupError {
  if (err instanceof BackupError) return err;
  const why = (err as Error).message;
  if (err instanceof ZipError) {
    return new BackupError(why.startsWith('truncated') ? why : `damaged archive: ${why}`);
  }
  return new BackupError(`the backup cannot be read: ${why}`);
}
