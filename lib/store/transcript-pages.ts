/**
 * The transcript kept a second time as pages of TRANSCRIPT_PAGE_SIZE messages, one document per
 * page with `_id` = `<session_id>:<page>`, so reading a whole transcript is a run of `_id` lookups.
 *
 * Why: FerretDB (the embedded default) serves only `_id` equality from an index. Every
 * `find({ session_id })` on the messages collection parsed every message of every session, so
 * the end-of-session analysis, the messages page and the details of a long session got slower
 * with each session stored (after ~40,000 messages one read took minutes). A message's page
 * follows from its place (`seq`, counted from 1 by the workflow), so a write touches one page.
 *
 * The messages collection stays the record of truth (a message by id, exports, erasure). Pages
 * are written by the session's single writer (its workflow, through activities run one at a
 * time), so the read-modify-write of a page cannot interleave with another. Sessions created
 * before pages existed carry no `transcript_paged` mark; their readers use the collection.
 * Each page is encrypted as a whole under the transcript key, bound to the page's id.
 */
import type { Db } from 'mongodb';
import type { FieldCrypto } from '../crypto/fields';
import type { Message } from '../schemas/session';
import { COLLECTIONS, type SessionDoc, type TranscriptPageDoc } from './collections';
import type { SessionViewFields } from './session-view';

export const TRANSCRIPT_PAGE_SIZE = 50;
/** Pages read at once: a long transcript is read in a few rounds, not one lookup at a time. */
const PAGES_PER_ROUND = 8;

export const pageId = (sessionId: string, page: number) => `${sessionId}:${page}`;

/** A message with its place, as a page holds it. */
type PagedMessage = Message & { seq: number };

const pages = (db: Db) => db.collection<TranscriptPageDoc>(COLLECTIONS.transcriptPages);

/** Adds the message to its page unless a retried write put it there already. */
export async function addMessageToPage(
  db: Db,
  fields: FieldCrypto,
  message: Message,
  seq: number,
): Promise<void> {
  const page = Math.floor((seq - 1) / TRANSCRIPT_PAGE_SIZE);
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

/** Whether the session's transcript can be read from its pages. */
export async function isPaged(db: Db, sessionId: string): Promise<boolean> {
  const doc = await db
    .collection<SessionDoc & SessionViewFields>(COLLECTIONS.sessions)
    .findOne({ _id: sessionId }, { projection: { _id: 0, transcript_paged: 1 } });
  return doc?.transcript_paged === true;
}

/**
 * The whole transcript in order, from its pages: rounds of lookups until a page is missing. Only
 * for sessions that are paged (the caller checked), or it answers with what pages there are.
 */
export async function readPages(
  db: Db,
  fields: FieldCrypto,
  sessionId: string,
): Promise<Message[]> {
  const out: Message[] = [];
  for (let first = 0; ; first += PAGES_PER_ROUND) {
    const ids = Array.from({ length: PAGES_PER_ROUND }, (_, i) => pageId(sessionId, first + i));
    const round = await Promise.all(
      ids.map((id) => pages(db).findOne({ _id: id }, { projection: { messages: 1 } })),
    );
    for (const [i, doc] of round.entries()) {
      if (!doc) return out;
      const items = JSON.parse(fields.openTranscriptPage(ids[i]!, doc.messages)) as PagedMessage[];
      for (const { seq: _seq, ...message } of items) out.push(message);
    }
  }
}

/** Deletes the sessions' pages (client erasure). */
export async function deletePages(db: Db, sessionIds: string[]): Promise<void> {
  await pages(db).deleteMany({ session_id: { $in: sessionIds } });
}
