import type { Db, IndexDescription } from 'mongodb';

/** Collection names in one place. */
export const COLLECTIONS = {
  sessions: 'sessions',
  messages: 'messages',
  notes: 'notes',
} as const;

/**
 * Indexes the runtime relies on: unique ids make writes idempotent (a retried activity finds
 * the document already there); (session_id, seq) serves the ordered transcript.
 */
export const INDEXES: Record<string, IndexDescription[]> = {
  [COLLECTIONS.sessions]: [
    { key: { session_id: 1 }, name: 'session_id_unique', unique: true },
    { key: { client_id: 1, created_at: -1 }, name: 'client_created' },
    { key: { status: 1, created_at: -1 }, name: 'status_created' },
  ],
  [COLLECTIONS.messages]: [
    { key: { id: 1 }, name: 'id_unique', unique: true },
    { key: { session_id: 1, seq: 1 }, name: 'session_seq' },
  ],
  [COLLECTIONS.notes]: [
    { key: { id: 1 }, name: 'id_unique', unique: true },
    { key: { session_id: 1, timestamp: 1 }, name: 'session_time' },
  ],
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
