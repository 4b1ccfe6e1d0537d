/**
 * Bookkeeping activities of the session pool, run as local activities by the session workflow:
 * write the read models to MongoDB and publish the lifecycle events. Every write is keyed by id
 * and every event carries a deterministic id, so a retry stores and publishes nothing twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { FieldCrypto } from '../lib/crypto/fields';
import type { Store } from '../lib/mongo';
import type { Bus } from '../lib/bus';
import {
  COLLECTIONS,
  isDuplicateKey,
  type NoteDoc,
  type SessionDoc,
} from '../lib/store/collections';
import { eventId, publishEvent } from '../lib/events';
import { announceSessionChanged } from '../lib/cache/notices';
import { addNoteToView, EMPTY_VIEW } from '../lib/store/session-view';
import {
  announceMessage,
  findMessage,
  storeMessageOnce,
  type SessionRef,
  type StoredMessage,
} from './transcript';
import type { Message, Note, Session } from '../lib/schemas/session';
import type { SessionEventData, SessionEventName } from '../lib/schemas/events';

export interface SessionStoreDeps {
  store: Store;
  /** Encrypts messages, notes and the session's summary and insights before they are stored. */
  fields: FieldCrypto;
  bus: Bus;
}

export type { SessionRef, StoredMessage };

export function createSessionStoreActivities({ store, fields, bus }: SessionStoreDeps) {
  const sessions = store.db.collection<SessionDoc>(COLLECTIONS.sessions);
  const notes = store.db.collection<NoteDoc>(COLLECTIONS.notes);

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
        { _id: session.session_id },
        {
          $set: {
            ...fields.sealAssessment(session.session_id, session),
            updated_at: new Date().toISOString(),
          },
          $setOnInsert: EMPTY_VIEW,
        },
        { upsert: true },
      );
      // A change no event announces (e.g. the status saved before the end-of-session analysis):
      // API instances are told to drop their cached copy.
      if (!event) return announceSessionChanged(bus.nc, session.session_id);
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
      await publishEvent(bus, 'session', session.session_id, {
        event_id: eventId(session.session_id, event),
        event,
        timestamp: eventTime(session, event),
        data,
      });
    },

    /** Stores a message once and publishes message.created. */
    async recordMessage(input: { message: StoredMessage; session: SessionRef }): Promise<Message> {
      const stored = await storeMessageOnce(store, fields, input.message);
      await announceMessage(bus, input.session, stored);
      return stored;
    },

    /** The stored form of an accepted message, to answer a retried send. */
    async getMessage(input: { message_id: string }): Promise<Message> {
      const found = await findMessage(store, fields, input.message_id);
      if (!found) {
        throw ApplicationFailure.create({
          type: 'MessageNotFound',
          message: `message ${input.message_id} not stored`,
        });
      }
      return found;
    },

    async recordNote(input: { note: Note; session: SessionRef }): Promise<Note> {
      const { note, session } = input;
      await insertOnce(() =>
        notes.insertOne({
          _id: note.id,
          ...note,
          content: fields.sealNoteContent(note.id, note.content),
          session_id: session.session_id,
        }),
      );
      await addNoteToView(store.db, fields, session.session_id, note);
      await publishEvent(bus, 'session', session.session_id, {
        event_id: eventId(session.session_id, 'note.added', note.id),
        event: 'note.added',
        timestamp: note.timestamp,
        data: { ...session, note },
      });
      return note;
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
