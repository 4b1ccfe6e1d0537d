import type { Db, IndexDescription } from 'mongodb';
import type { Message, Note, Session } from '../schemas/session';
import type { Client } from '../schemas/client';

/*
 * Documents are keyed by their natural id in `_id` (session_id, message id, note id). Lookups by
 * `_id` are the ones FerretDB's SQLite backend serves from its primary key; other equality
 * filters scan, so the per-message write path touches documents by `_id` only.
 */
export type SessionDoc = Session & {
  _id: string;
  updated_at?: string;
  analysis?: Record<string, unknown>;
};
export type MessageDoc = Message & { _id: string; seq: number };
export type NoteDoc = Note & { _id: string; session_id: string };
export type ClientDoc = Client & { _id: string };

/** Collection names in one place. */
export const COLLECTIONS = {
  sessions: 'sessions',
  messages: 'messages',
  notes: 'notes',
  clients: 'clients',
} as const;

/**
 * Indexes the read paths rely on (on MongoDB; FerretDB keeps them but scans). Ids live in `_id`,
 * whose uniqueness makes writes idempotent: a retried activity finds the document already there.
 */
export const INDEXES: Record<string, IndexDescription[]> = {
  [COLLECTIONS.sessions]: [
    { key: { client_id: 1, created_at: -1 }, name: 'client_created' },
    { key: { status: 1, created_at: -1 }, name: 'status_created' },
  ],
  [COLLECTIONS.messages]: [{ key: { session_id: 1, seq: 1 }, name: 'session_seq' }],
  [COLLECTIONS.clients]: [{ key: { created_at: -1 }, name: 'created' }],
  [COLLECTIONS.notes]: [{ key: { session_id: 1, timestamp: 1 }, name: 'session_time' }],
};

/**
 * Creates the missing indexes; idempotent, safe to run at every process start. Only missing
 * ones, one at a time: FerretDB 1.24 drops the connection when a multi-index createIndexes
 * names indexes that already exist.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  const existingCollections = new Set(
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
  );
  for (const [name, indexes] of Object.entries(INDEXES)) {
    const col = db.collection(name);
    const existing = existingCollections.has(name)
      ? new Set((await col.listIndexes().toArray()).map((i: { name?: unknown }) => String(i.name)))
      : new Set<string>();
    for (const index of indexes) {
      if (!existing.has(index.name!)) await col.createIndexes([index]);
    }
  }
}

export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
