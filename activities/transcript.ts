/**
 * Writing a message to the transcript and announcing it, shared by the session pool (client,
 * facilitator and injected messages) and the persona pool (replies): stored once by id, and
 * published with a deterministic event id, so any retry is harmless.
 */
import type { Store } from '../lib/mongo';
import type { FieldCrypto } from '../lib/crypto/fields';
import type { Bus } from '../lib/bus';
import { COLLECTIONS, isDuplicateKey, type MessageDoc } from '../lib/store/collections';
import { eventId, publishEvent } from '../lib/events';
import type { Message } from '../lib/schemas/session';
import { addMessageToView, VIEW_MESSAGE_LIMIT } from '../lib/store/session-view';
import { addMessageToPage, readWholeTranscript } from '../lib/store/transcript-pages';

export interface SessionRef {
  session_id: string;
  client_id: string;
  persona_id: string;
}

/** A message as stored: `seq` orders the transcript. */
export type StoredMessage = Message & { seq: number };

/**
 * Stores the message (its content encrypted) unless an earlier attempt did; returns what is
 * stored (the first attempt's words), in the clear.
 */
export async function storeMessageOnce(
  store: Store,
  fields: FieldCrypto,
  message: StoredMessage,
): Promise<Message> {
  const messages = store.db.collection<MessageDoc>(COLLECTIONS.messages);
  let stored: Message;
  try {
    await messages.insertOne({
      _id: message.id,
      ...message,
      content: fields.sealMessageContent(message.id, message.content),
    });
    const { seq: _seq, ...fresh } = message;
    stored = fresh;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await findMessage(store, fields, message.id);
    if (!existing) throw err;
    stored = existing;
  }
  // Also on the retry path: an attempt that died after the insert has not updated the copies yet.
  // Seq counts from 1 per session: the first ones go to the view (the one after them marks it
  // full), the rest to the transcript's later pages.
  if (message.seq <= VIEW_MESSAGE_LIMIT + 1) await addMessageToView(store.db, fields, stored);
  await addMessageToPage(store.db, fields, stored, message.seq);
  return stored;
}

/** A stored message by id, as the API shows it (no `seq`, content in the clear). */
export async function findMessage(
  store: Store,
  fields: FieldCrypto,
  id: string,
): Promise<Message | null> {
  const found = await store.db
    .collection<MessageDoc>(COLLECTIONS.messages)
    .findOne({ _id: id }, { projection: { _id: 0, seq: 0 } });
  return found && fields.openMessage(found);
}

export async function announceMessage(
  bus: Bus,
  session: SessionRef,
  message: Message,
): Promise<void> {
  await publishEvent(bus, 'session', session.session_id, {
    event_id: eventId(session.session_id, 'message.created', message.id),
    event: 'message.created',
    timestamp: message.timestamp,
    data: { ...session, message },
  });
}

/**
 * The whole transcript in order, as the analysis engines read it: who spoke, what, and the
 * message's id, so findings can name the messages they came from.
 */
export async function readTranscript(
  store: Store,
  fields: FieldCrypto,
  sessionId: string,
): Promise<Pick<Message, 'id' | 'sender_type' | 'content'>[]> {
  const transcript = await readWholeTranscript(store.db, fields, sessionId);
  return transcript.map(({ id, sender_type, content }) => ({ id, sender_type, content }));
}
