import type { Db, IndexDescription } from 'mongodb';
import type { Message, Note, Session } from '../schemas/session';
import type { Client } from '../schemas/client';
import type { Webhook } from '../schemas/webhook';

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
/**
 * `secret` signs deliveries and never leaves the server after creation; `owner_id` scopes who
 * sees the webhook (absent for system-wide registrations).
 */
export type WebhookDoc = Webhook & { _id: string; owner_id?: string; secret: string };

/** Collection names in one place. */
export const COLLECTIONS = {
  sessions: 'sessions',
  messages: 'messages',
  notes: 'notes',
  clients: 'clients',
  /** Claims that keep a client's e-mail unique per owner (`_id` = owner + e-mail). */
  clientEmails: 'client_emails',
  series: 'session_series',
  webhooks: 'webhooks',
  users: 'users',
  apiKeys: 'api_keys',
  apiKeyUsage: 'api_key_usage',
  authSessions: 'auth_sessions',
  refreshTokens: 'auth_refresh_tokens',
  spentRefreshTokens: 'auth_refresh_spent',
  authRevocations: 'auth_revocations',
} as const;

/**
 * Indexes the read paths rely on (on MongoDB; FerretDB keeps them but scans). Ids live in `_id`,
 * whose uniqueness makes writes idempotent: a retried activity finds the document already there.
 */
export const INDEXES: Record<string, IndexDescription[]> = {
  [COLLECTIONS.sessions]: [
    { key: { client_id: 1, created_at: -1 }, name: 'client_created' },
    { key: { status: 1, created_at: -1 }, name: 'status_created' },
    { key: { client_id: 1, started_at: 1 }, name: 'client_started' },
    { key: { persona_id: 1, created_at: -1 }, name: 'persona_created' },
    // Facilitators' lists are confined to their own sessions.
    { key: { owner_id: 1, created_at: -1 }, name: 'owner_created' },
    { key: { created_at: -1 }, name: 'created' },
  ],
  [COLLECTIONS.messages]: [{ key: { session_id: 1, seq: 1 }, name: 'session_seq' }],
  [COLLECTIONS.clients]: [
    { key: { created_at: -1 }, name: 'created' },
    { key: { owner_id: 1, created_at: -1 }, name: 'owner_created' },
  ],
  [COLLECTIONS.series]: [
    { key: { created_at: -1 }, name: 'created' },
    { key: { client_id: 1, created_at: -1 }, name: 'client_created' },
    { key: { owner_id: 1, created_at: -1 }, name: 'owner_created' },
  ],
  [COLLECTIONS.notes]: [{ key: { session_id: 1, timestamp: 1 }, name: 'session_time' }],
  [COLLECTIONS.webhooks]: [
    { key: { owner_id: 1, created_at: -1, webhook_id: -1 }, name: 'owner_created' },
    { key: { created_at: -1, webhook_id: -1 }, name: 'created' },
    // The dispatcher looks up the active webhooks for an event.
    { key: { status: 1, events: 1 }, name: 'status_events' },
  ],
  // Usernames and e-mails are unique ignoring case (no collation on FerretDB): lowercase copies.
  [COLLECTIONS.users]: [
    { key: { username_lower: 1 }, name: 'username_unique', unique: true },
    { key: { email_lower: 1 }, name: 'email_unique', unique: true },
    { key: { created_at: 1 }, name: 'created' },
  ],
  [COLLECTIONS.apiKeys]: [{ key: { created_at: -1 }, name: 'created' }],
  [COLLECTIONS.authSessions]: [{ key: { user_id: 1 }, name: 'user' }],
  // No TTL indexes on FerretDB: expired tokens and revocations are deleted by range, lazily.
  [COLLECTIONS.refreshTokens]: [
    { key: { session_id: 1 }, name: 'session' },
    { key: { expires_at: 1 }, name: 'expires' },
  ],
  [COLLECTIONS.spentRefreshTokens]: [{ key: { expires_at: 1 }, name: 'expires' }],
  [COLLECTIONS.authRevocations]: [{ key: { expires_at: 1 }, name: 'expires' }],
};

/**
 * Creates the missing indexes; idempotent, safe to run at every process start. Only missing
 * ones, one at a time: FerretDB 1.24 drops the connection when a multi-index createIndexes
 * names indexes that already exist. Returns what it created, as `collection.index` names.
 */
export async function ensureIndexes(db: Db): Promise<string[]> {
  const created: string[] = [];
  const existingCollections = new Set(
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
  );
  for (const [name, indexes] of Object.entries(INDEXES)) {
    const col = db.collection(name);
    const existing = existingCollections.has(name)
      ? new Set((await col.listIndexes().toArray()).map((i: { name?: unknown }) => String(i.name)))
      : new Set<string>();
    for (const index of indexes) {
      if (existing.has(index.name!)) continue;
      await col.createIndexes([index]);
      created.push(`${name}.${index.name}`);
    }
  }
  return created;
}

export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
