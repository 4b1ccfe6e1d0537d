/**
 * The session details view (`GET /sessions/{id}`) kept inside the session document, so the
 * common read is one `_id` lookup: the first messages of the transcript and the facilitator
 * notes, each as a JSON string.
 *
 * Why strings: FerretDB (the embedded default) serves only `_id` lookups from an index and
 * decodes every nested field it returns; a `find` on the messages collection scans it whole,
 * and a nested array of messages costs several times a string of the same data. The messages
 * and notes collections stay the records of truth (paging, analysis); this view is a copy that
 * the same serialized writer keeps, and readers fall back to those collections when it is
 * absent (older sessions) or full (long sessions). Each list is encrypted as a whole (transcript
 * and notes keys), so the copy holds no more in the clear than the collections do.
 */
import type { Db } from 'mongodb';
import type { FieldCrypto } from '../crypto/fields';
import { COLLECTIONS, type SessionDoc } from './collections';
import type { Message, Note } from '../schemas/session';

/** Messages held in the view; a longer transcript is read from the messages collection. */
export const VIEW_MESSAGE_LIMIT = 50;
/** Notes held in the view; more are read from the notes collection. */
export const VIEW_NOTE_LIMIT = 100;

export interface SessionViewFields {
  /** JSON array of the first VIEW_MESSAGE_LIMIT messages, in transcript order. */
  view_messages?: string;
  /** True once a message did not fit: the view's messages are then only the beginning. */
  view_messages_overflow?: boolean;
  view_notes?: string;
  view_notes_overflow?: boolean;
  /**
   * Set on sessions created since the transcript is also kept in pages (transcript-pages.ts,
   * whose page 0 is this view): their whole transcript is read from the view and the pages;
   * older sessions' from the messages collection.
   */
  transcript_paged?: boolean;
}

type ViewList = 'messages' | 'notes';

/**
 * Appends an item to the view unless it is there already (a retried write) or the view is full.
 * Only the session's single writer (its workflow, through activities it runs one at a time)
 * calls this, so the read-modify-write cannot interleave with another.
 */
async function appendToView(
  db: Db,
  fields: FieldCrypto,
  sessionId: string,
  list: ViewList,
  item: { id: string },
  limit: number,
): Promise<void> {
  const sessions = db.collection<SessionDoc & SessionViewFields>(COLLECTIONS.sessions);
  const field = list === 'messages' ? 'view_messages' : 'view_notes';
  const overflow = list === 'messages' ? 'view_messages_overflow' : 'view_notes_overflow';
  const doc = await sessions.findOne(
    { _id: sessionId },
    { projection: { _id: 0, [field]: 1, [overflow]: 1 } },
  );
  // No field: a session from before the view existed; its readers use the collections.
  if (!doc || doc[overflow] || doc[field] === undefined) return;
  const items = JSON.parse(fields.openView(sessionId, list, doc[field])) as { id: string }[];
  if (items.some((i) => i.id === item.id)) return;
  const update =
    items.length >= limit
      ? { [overflow]: true }
      : { [field]: fields.sealView(sessionId, list, JSON.stringify([...items, item])) };
  await sessions.updateOne({ _id: sessionId }, { $set: update });
}

export const addMessageToView = (db: Db, fields: FieldCrypto, message: Message) =>
  appendToView(db, fields, message.session_id, 'messages', message, VIEW_MESSAGE_LIMIT);

export const addNoteToView = (db: Db, fields: FieldCrypto, sessionId: string, note: Note) =>
  appendToView(db, fields, sessionId, 'notes', note, VIEW_NOTE_LIMIT);

/** The view's messages, in the clear. */
export const openViewMessages = (fields: FieldCrypto, sessionId: string, value: string) =>
  JSON.parse(fields.openView(sessionId, 'messages', value)) as Message[];

/** What the view can answer by itself; `undefined` means: read the collection. */
export function fromView(
  fields: FieldCrypto,
  sessionId: string,
  doc: SessionViewFields,
): {
  messages?: Message[];
  notes?: Note[];
} {
  return {
    messages:
      doc.view_messages_overflow || doc.view_messages === undefined
        ? undefined
        : openViewMessages(fields, sessionId, doc.view_messages),
    notes:
      doc.view_notes_overflow || doc.view_notes === undefined
        ? undefined
        : (JSON.parse(fields.openView(sessionId, 'notes', doc.view_notes)) as Note[]),
  };
}

/** A projection leaving the view out, for every read but the details view's own. */
export const WITHOUT_VIEW = {
  view_messages: 0,
  view_messages_overflow: 0,
  view_notes: 0,
  view_notes_overflow: 0,
  transcript_paged: 0,
} as const;

/**
 * A session created with its view starts with empty lists, so its reads never fall back, and
 * with its transcript paged from the first message.
 */
export const EMPTY_VIEW: SessionViewFields = {
  view_messages: '[]',
  view_notes: '[]',
  transcript_paged: true,
};
