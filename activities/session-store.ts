/**
 * Bookkeeping activities of the session pool, run as local activities by the session workflow:
 * write the read models to MongoDB and publish the lifecycle events. Every write is keyed by id
 * and every event carries a deterministic id, so a retry stores and publishes nothing twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Store } from '../lib/mongo';
import type { Bus } from '../lib/bus';
import { COLLECTIONS, isDuplicateKey } from '../lib/store/collections';
import { eventId, publishSessionEvent, publishTyping as publishTypingEvent } from '../lib/events';
import type { Message, Note, Session } from '../lib/schemas/session';
import type { SessionEventData, SessionEventName } from '../lib/schemas/events';
import type { SenderType } from '../personas/engine/types';

export interface SessionStoreDeps {
  store: Store;
  bus: Bus;
}

export interface SessionRef {
  session_id: string;
  client_id: string;
  persona_id: string;
}

export interface TypingState {
  sender_type: SenderType;
  sender_id: string;
  is_typing: boolean;
}

/** A message as stored: `seq` orders the transcript. */
export type StoredMessage = Message & { seq: number };

export function createSessionStoreActivities({ store, bus }: SessionStoreDeps) {
  const sessions = store.db.collection<Session>(COLLECTIONS.sessions);
  const messages = store.db.collection<StoredMessage>(COLLECTIONS.messages);
  const notes = store.db.collection<Note & { session_id: string }>(COLLECTIONS.notes);

  const insertOnce = async (insert: () => Promise<unknown>): Promise<void> => {
    try {
      await insert();
    } catch (err) {
      // Already stored by an earlier attempt of this activity.
      if (!isDuplicateKey(err)) throw err;
    }
  };

  return {
    /** Saves the session document; with `event`, then publishes that lifecycle event. */
    async applyTransition(input: { session: Session; event?: SessionEventName }): Promise<void> {
      const { session, event } = input;
      await sessions.updateOne(
        { session_id: session.session_id },
        { $set: { ...session, updated_at: new Date().toISOString() } },
        { upsert: true },
      );
      if (!event) return;
      const data: SessionEventData = {
        session_id: session.session_id,
        client_id: session.client_id,
        persona_id: session.persona_id,
        status: session.status,
        duration_minutes: session.duration_minutes,
        goals: session.goals,
        ...pick(session, [
          'scheduled_at',
          'started_at',
          'ended_at',
          'cancelled_at',
          'summary',
          'insights',
        ]),
      };
      await publishSessionEvent(bus, session.session_id, {
        event_id: eventId(session.session_id, event),
        event,
        timestamp: eventTime(session, event),
        data,
      });
    },

    /** Stores a message once, publishes message.created, and optionally a typing indicator. */
    async recordMessage(input: {
      message: StoredMessage;
      session: SessionRef;
      typing?: TypingState;
    }): Promise<Message> {
      const { message, session, typing } = input;
      await insertOnce(() => messages.insertOne({ ...message }));
      await sessions.updateOne(
        { session_id: session.session_id },
        { $max: { message_count: message.seq } },
      );
      const { seq: _seq, ...publicMessage } = message;
      await publishSessionEvent(bus, session.session_id, {
        event_id: eventId(session.session_id, 'message.created', message.id),
        event: 'message.created',
        timestamp: message.timestamp,
        data: { ...session, message: publicMessage },
      });
      if (typing)
        publishTypingEvent(bus, {
          session_id: session.session_id,
          ...typing,
          timestamp: new Date().toISOString(),
        });
      return publicMessage;
    },

    /** The stored form of an accepted message, to answer a retried send. */
    async getMessage(input: { message_id: string }): Promise<Message> {
      const found = await messages.findOne(
        { id: input.message_id },
        { projection: { _id: 0, seq: 0 } },
      );
      if (!found) {
        throw ApplicationFailure.create({
          type: 'MessageNotFound',
          message: `message ${input.message_id} not stored`,
          nonRetryable: false,
        });
      }
      return found;
    },

    async recordNote(input: { note: Note; session: SessionRef }): Promise<Note> {
      const { note, session } = input;
      await insertOnce(() => notes.insertOne({ ...note, session_id: session.session_id }));
      await publishSessionEvent(bus, session.session_id, {
        event_id: eventId(session.session_id, 'note.added', note.id),
        event: 'note.added',
        timestamp: note.timestamp,
        data: { ...session, note },
      });
      return note;
    },

    async publishTyping(input: SessionRef & TypingState): Promise<void> {
      publishTypingEvent(bus, {
        session_id: input.session_id,
        sender_type: input.sender_type,
        sender_id: input.sender_id,
        is_typing: input.is_typing,
        timestamp: new Date().toISOString(),
      });
      await bus.nc.flush();
    },
  };
}

export type SessionStoreActivities = ReturnType<typeof createSessionStoreActivities>;

function eventTime(session: Session, event: SessionEventName): string {
  switch (event) {
    case 'session.scheduled':
      return session.created_at;
    case 'session.started':
      return session.started_at ?? session.created_at;
    case 'session.ended':
      return session.ended_at ?? session.created_at;
    case 'session.cancelled':
      return session.cancelled_at ?? session.created_at;
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
