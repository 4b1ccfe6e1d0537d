import type { Db, IndexDescription } from 'mongodb';
import type { Message, Note, Session } from '../schemas/session';
import type { Client } from '../schemas/client';
import type { Persona } from '../../personas/schema';
import type { Webhook, WebhookDelivery, WebhookPayload } from '../schemas/webhook';

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
/** Up to TRANSCRIPT_PAGE_SIZE messages of a session, `_id` = `<session_id>:<page>`. */
export interface TranscriptPageDoc {
  _id: string;
  session_id: string;
  page: number;
  count: number;
  /** JSON array of the page's messages with their `seq`, sealed whole under the transcript key. */
  messages: string;
}
export type NoteDoc = Note & { _id: string; session_id: string };
export type ClientDoc = Client & { _id: string };
/**
 * `secret` signs deliveries and never leaves the server after creation; `owner_id` scopes who
 * sees the webhook (absent for system-wide registrations).
 */
export type WebhookDoc = Webhook & {
  _id: string;
  owner_id?: string;
  secret: string;
  /**
   * Set for facilitators' webhooks: only events of sessions and clients this owner owns are
   * delivered. Absent (administrators, system keys): every event.
   */
  restricted_to?: string;
  /** Failed attempts since the last success; written only by the dispatcher holding the lease. */
  consecutive_failures?: number;
  disabled_at?: string;
};
/** One attempt (`_id` = delivery_id); `task_id` names the outbox entry it was made for. */
export type WebhookDeliveryDoc = WebhookDelivery & { _id: string; task_id: string };
/**
 * What must still be delivered: one document per (webhook, event), `_id` =
 * `<webhook_id>:<event_id>` (redeliveries get a suffix), so taking an event off the stream twice
 * queues it once. `order_key` groups the deliveries that must arrive in order (a webhook and a
 * session); `seq` is the event's stream sequence (0 for redeliveries, which do not wait).
 */
export interface WebhookTaskDoc {
  _id: string;
  webhook_id: string;
  event_id: string;
  event: string;
  trigger: 'event' | 'redeliver' | 'ping';
  order_key: string;
  /** The session or client the event is about (`session.<id>`), so erasure finds its tasks. */
  subject?: string;
  seq: number;
  payload: WebhookPayload;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** Epoch milliseconds at which the next attempt is due. */
  due_at: number;
  created_at: string;
  delivered_at?: string;
  last_error?: string;
}
/** Which dispatcher process works a webhook's queue, until `expires_at` (epoch ms). */
export interface WebhookLeaseDoc {
  _id: string;
  owner: string;
  expires_at: number;
}

/** One immutable version of a custom persona, `_id` = `<persona_id>@<version>`. */
export type PersonaVersionDoc = Persona & { _id: string; created_at: string; created_by: string };
/** A custom persona's current version (`_id` = persona_id). */
export interface PersonaHeadDoc {
  _id: string;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Collection names in one place. */
export const COLLECTIONS = {
  sessions: 'sessions',
  messages: 'messages',
  /** The transcript again, in pages read by `_id` (TranscriptPageDoc, lib/store/transcript-pages). */
  transcriptPages: 'transcript_pages',
  notes: 'notes',
  clients: 'clients',
  /** Claims that keep a client's e-mail unique per owner (`_id` = owner + e-mail). */
  clientEmails: 'client_emails',
  series: 'session_series',
  webhooks: 'webhooks',
  webhookDeliveries: 'webhook_deliveries',
  webhookTasks: 'webhook_tasks',
  /**
   * Tasks that are over (delivered, or given up): moved out of webhook_tasks so the dispatcher's
   * scans of what is pending stay small (FerretDB scans for any filter but `_id`).
   */
  webhookTasksDone: 'webhook_tasks_done',
  webhookLeases: 'webhook_leases',
  users: 'users',
  apiKeys: 'api_keys',
  apiKeyUsage: 'api_key_usage',
  authSessions: 'auth_sessions',
  refreshTokens: 'auth_refresh_tokens',
  spentRefreshTokens: 'auth_refresh_spent',
  authRevocations: 'auth_revocations',
  /** Custom personas' versions (PersonaVersionDoc) and current versions (PersonaHeadDoc). */
  personas: 'personas',
  personaHeads: 'persona_heads',
  /** Who did what to which resource, and when (AuditEntry). */
  audit: 'audit_log',
  /** Which schema migrations have been applied (lib/store/migrations), one document each. */
  schemaMigrations: 'schema_migrations',
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
  // Read by `_id`; erasure deletes a client's pages by session.
  [COLLECTIONS.transcriptPages]: [{ key: { session_id: 1 }, name: 'session' }],
  [COLLECTIONS.audit]: [
    { key: { at: -1 }, name: 'at' },
    { key: { actor_id: 1, at: -1 }, name: 'actor_at' },
    { key: { resource_type: 1, resource_id: 1, at: -1 }, name: 'resource_at' },
  ],
  [COLLECTIONS.clients]: [
    { key: { created_at: -1 }, name: 'created' },
    { key: { owner_id: 1, created_at: -1 }, name: 'owner_created' },
    // `search` matches blind-index tokens (the names themselves are encrypted): multikey.
    { key: { search_index: 1 }, name: 'search' },
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
  [COLLECTIONS.webhookDeliveries]: [
    { key: { webhook_id: 1, started_at: -1, _id: -1 }, name: 'webhook_started' },
  ],
  [COLLECTIONS.webhookTasks]: [
    { key: { state: 1, due_at: 1 }, name: 'state_due' },
    { key: { webhook_id: 1, state: 1, seq: 1 }, name: 'webhook_state_seq' },
  ],
  [COLLECTIONS.webhookTasksDone]: [{ key: { created_at: 1 }, name: 'created' }],
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

/** A unique-index refusal; for a bulk insert, only when every refused document was a duplicate. */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const writeErrors = (err as { writeErrors?: { code?: number }[] }).writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0)
    return writeErrors.every((e) => e.code === 11000);
  return (err as { code?: unknown }).code === 11000;
}
