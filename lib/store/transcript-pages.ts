/**
 * The transcript kept a second time in pages of TRANSCRIPT_PAGE_SIZE messages, so reading a whole
 * transcript is a run of `_id` lookups. Page 0 is the session document's view (session-view.ts,
 * the first VIEW_MESSAGE_LIMIT messages); page k ≥ 1 is a document of its own in
 * `transcript_pages`, `_id` = `<session_id>:<k>`, holding messages k·SIZE+1 … (k+1)·SIZE.
 *
 * Why: FerretDB (the embedded default) serves only `_id` equality from an index. Every
 * `find({ session_id })` on the messages collection parsed every message of every session, so
 * the end-of-session analysis, the messages page and the details of a long session got slower
 * with each session stored (after ~40,000 messages one read took minutes). A message's page
 * follows from its place (`seq`, counted from 1 by the workflow), so a write touches one page:
 * the view for the first messages (as before), a page after. Each message costs the same writes
 * whatever its place, and a session of up to SIZE messages has no page documents at all.
 *
 * The messages collection stays the record of truth (a message by id, exports, erasure). Pages
 * are written by the session's single writer (its workflow, through activities run one at a
 * time), so the read-modify-write of a page cannot interleave with another. (Not made conditional
 * on what it read: a filter on anything besides `_id` makes FerretDB scan the collection; tried,
 * it cost 7x the FerretDB CPU per reply at 100 sessions.) Sessions created
 * before pages existed carry no `transcript_paged` mark; their readers use the collection.
 * Each page is encrypted as a whole under the transcript key, bound to the page's id.
 */
import type { Db } from 'mongodb';
import type { FieldCrypto } from '../crypto/fields';
import type { Message } from '../schemas/session';
import {
  COLLECTIONS,
  type MessageDoc,
  type SessionDoc,
  type TranscriptPageDoc,
} from './collections';
import { openViewMessages, VIEW_MESSAGE_LIMIT, type SessionViewFields } from './session-view';

/** A page holds as many messages as the view, so page 0 is the view. */
export const TRANSCRIPT_PAGE_SIZE = VIEW_MESSAGE_LIMIT;
/** Pages read at once: a long transcript is read in a few rounds, not one lookup at a time. */
const PAGES_PER_ROUND = 8;

export const pageId = (sessionId: string, page: number) => `${sessionId}:${page}`;

/** The page a message's place puts it on; 0 is the view. */
const pageOf = (seq: number) => Math.floor((seq - 1) / TRANSCRIPT_PAGE_SIZE);

/** A message with its place, as a page holds it. */
type PagedMessage = Message & { seq: number };

const pages = (db: Db) => db.collection<TranscriptPageDoc>(COLLECTIONS.transcriptPages);

/** Adds a message past the view to its page, unless a retried write put it there already. */
export async function addMessageToPage(
  db: Db,
  fields: FieldCrypto,
  message: Message,
  seq: number,
): Promise<void> {
  const page = pageOf(seq);
  if (page < 1) return;
  const id = pageId(message.session_id, page);
  const doc = await pages(db).findOne({ _id: id }, { projection: { messages: 1 } });
  const items = doc
    ? (JSON.parse(fields.openTranscriptPage(id, doc.messages)) as PagedMessage[])
    : [];
  if (items.some((m) => m.id === message.id)) return;
  items.push({ ...message, seq });
  // In place order even if a write ever lands late.
  items.sort((a, b) => a.seq - b.seq);
  await pages(db).updateOne(
    { _id: id },
    {
      $set: {
        session_id: message.session_id,
        page,
        count: items.length,
        messages: fields.sealTranscriptPage(id, JSON.stringify(items)),
      },
    },
    { upsert: true },
  );
}

/** What of the session document the pages are read with. */
const PAGED_FIELDS = {
  view_messages: 1,
  view_messages_overflow: 1,
  transcript_paged: 1,
} as const;

/**
 * The whole transcript in order, from the view and the pages after it; `undefined` for a session
 * from before the pages (read the collection).
 */
export async function readPaged(
  db: Db,
  fields: FieldCrypto,
  sessionId: string,
  doc: SessionViewFields,
): Promise<Message[] | undefined> {
  if (!doc.transcript_paged || doc.view_messages === undefined) return undefined;
  const out = openViewMessages(fields, sessionId, doc.view_messages);
  if (!doc.view_messages_overflow) return out;
  // A write that never landed would shift the view by one; the first page may repeat its last.
  const seen = new Set(out.map((m) => m.id));
  for (let first = 1; ; first += PAGES_PER_ROUND) {
    const ids = Array.from({ length: PAGES_PER_ROUND }, (_, i) => pageId(sessionId, first + i));
    const round = await Promise.all(
      ids.map((id) => pages(db).findOne({ _id: id }, { projection: { messages: 1 } })),
    );
    for (const [i, page] of round.entries()) {
      if (!page) return out;
      const items = JSON.parse(fields.openTranscriptPage(ids[i]!, page.messages)) as PagedMessage[];
      for (const { seq: _seq, ...message } of items) {
        if (!seen.has(message.id)) out.push(message);
      }
    }
  }
}

/** The transcript of any session by id: from its pages, or `undefined` if it has none. */
export async function readPagedById(
  db: Db,
  fields: FieldCrypto,
  sessionId: string,
): Promise<Message[] | undefined> {
  const doc = await db
    .collection<SessionDoc & SessionViewFields>(COLLECTIONS.sessions)
    .findOne({ _id: sessionId }, { projection: { _id: 0, ...PAGED_FIELDS } });
  return doc ? readPaged(db, fields, sessionId, doc) : undefined;
}

/**
 * The whole transcript in order: from the view and pages (`doc`, the session document's
 * PAGED_FIELDS, when the caller has read it already), or, for a session from before the pages,
 * from the messages collection, which FerretDB scans whole.
 */
export async function readWholeTranscript(
  db: Db,
  fields: FieldCrypto,
  sessionId: string,
  doc?: SessionViewFields,
): Promise<Message[]> {
  const paged = doc
    ? await readPaged(db, fields, sessionId, doc)
    : await readPagedById(db, fields, sessionId);
  if (paged) return paged;
  const stored = await db
    .collection<MessageDoc>(COLLECTIONS.messages)
    .find({ session_id: sessionId }, { projection: { _id: 0, seq: 0 } })
    .sort({ seq: 1 })
    .toArray();
  return stored.map((m) => fields.openMessage(m));
}

/** Deletes the sessions' pages (client erasure). */
export async function deletePages(db: Db, sessionIds: string[]): Promise<void> {
  await pages(db).deleteMany({ session_id: { $in: sessionIds } });
}
