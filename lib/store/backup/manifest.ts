/**
 * The backup archive's format. A ZIP holding `manifest.json` and one file per collection,
 * `collections/<name>.jsonl`: one document per line in canonical Extended JSON, so every BSON
 * type (dates, 32/64-bit integers, doubles, binary) comes back as it was stored. The manifest
 * names each collection's file, document count, SHA-256 and indexes, and what a restore needs to
 * know about encryption: the key ids the data is sealed under (never keys) and a check value of
 * the blind-index key.
 */
import { z } from 'zod';
import { EJSON } from 'bson';

export const BACKUP_FORMAT = 'smart-steps-backup';
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** Canonical EJSON: `{"$numberInt": "1"}` rather than `1`, so types survive the round trip. */
export const EJSON_OPTIONS = { relaxed: false } as const;

/** Reading documents as stored: BSON numbers stay Int32/Long/Double instead of JS numbers. */
export const RAW_READ = {
  promoteValues: false,
  promoteLongs: false,
  promoteBuffers: false,
  bsonRegExp: true,
} as const;

/** A refusal of a backup file, or a failure to make one: one line for the operator. */
export class BackupError extends Error {}

/** Collection names are kept to what the product uses, so a crafted file cannot aim elsewhere. */
const COLLECTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$/;

export function isBackupableName(name: string): boolean {
  return COLLECTION_NAME.test(name) && !name.startsWith('system.');
}

const indexSpec = z
  .object({
    name: z.string().min(1),
    key: z.record(z.string(), z.union([z.number(), z.string()])),
  })
  .loose();

const collectionEntry = z.object({
  name: z
    .string()
    .regex(COLLECTION_NAME)
    .refine((n) => !n.startsWith('system.'), 'system collections are not restored'),
  file: z.string().min(1),
  count: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  indexes: z.array(indexSpec),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  format_version: z.number().int().positive(),
  created_at: z.string(),
  completed_at: z.string(),
  app_version: z.string(),
  database: z.string(),
  schema: z.object({ version: z.number().int().nonnegative(), migrations: z.array(z.string()) }),
  collections: z.array(collectionEntry),
  encryption: z.object({
    key_ids: z.array(z.string()),
    /** A blind index of a fixed token; equal only under the same index key. */
    index_key_check: z.string().nullable(),
  }),
  consistency: z.string(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type CollectionEntry = Manifest['collections'][number];
export type IndexSpec = CollectionEntry['indexes'][number];

export const CONSISTENCY_NOTE =
  'Each collection was read in one pass in _id order while the database served; collections ' +
  'were read one after another, so this is not one point in time across collections unless ' +
  'the API and workers were stopped.';

export function collectionFile(name: string): string {
  return `collections/${name}.jsonl`;
}

/** The manifest in a backup, checked: refuses foreign and newer files with one line. */
export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupError('not a Smart Steps backup: manifest.json is not JSON');
  }
  const head = json as { format?: unknown; format_version?: unknown };
  if (typeof json !== 'object' || json === null || head.format !== BACKUP_FORMAT) {
    throw new BackupError(`not a Smart Steps backup: manifest.json is not a ${BACKUP_FORMAT}`);
  }
  if (typeof head.format_version === 'number' && head.format_version > BACKUP_FORMAT_VERSION) {
    throw new BackupError(
      `the backup is format ${head.format_version}, made by a newer release; this one reads format ${BACKUP_FORMAT_VERSION}`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BackupError(
      `the backup's manifest is invalid: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  const names = new Set<string>();
  for (const c of parsed.data.collections) {
    if (names.has(c.name)) throw new BackupError(`the manifest lists ${c.name} twice`);
    names.add(c.name);
    if (c.file !== collectionFile(c.name)) {
      throw new BackupError(`the manifest names an unexpected file for ${c.name}: ${c.file}`);
    }
  }
  return parsed.data;
}

export function serialiseDocument(doc: unknown): string {
  return EJSON.stringify(doc, EJSON_OPTIONS);
}

export function parseDocument(line: string): Record<string, unknown> & { _id: unknown } {
  const doc: unknown = EJSON.parse(line, EJSON_OPTIONS);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('_id' in doc)) {
    throw new Error('a line is not a document with an _id');
  }
  return doc;
}
