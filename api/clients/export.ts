/**
 * Everything held about a client, for `GET /clients/{id}/export` (the right of access): the
 * client record, every session with its whole transcript, notes and analysis, and the series
 * that book sessions for them. Read straight from the store, in the API's own shapes.
 */
import type { Db } from 'mongodb';
import type { FieldCrypto } from '../../lib/crypto/fields';
import { z } from 'zod';
import { findVisible, type Actor } from '../access';
import { WITHOUT_VIEW } from '../../lib/store/session-view';
import { NotFoundError } from '../../lib/errors';
import { clientSchema } from '../../lib/schemas/client';
import { isoDateTime } from '../../lib/schemas/common';
import { seriesSchema } from '../../lib/schemas/series';
import { messageSchema, noteSchema, sessionSchema } from '../../lib/schemas/session';
import {
  COLLECTIONS,
  type ClientDoc,
  type MessageDoc,
  type NoteDoc,
  type SessionDoc,
} from '../../lib/store/collections';

export const clientExportSchema = z.object({
  exported_at: isoDateTime,
  client: clientSchema,
  sessions: z.array(
    sessionSchema.passthrough().extend({
      messages: z.array(messageSchema),
      facilitator_notes: z.array(noteSchema),
    }),
  ),
  series: z.array(seriesSchema.passthrough()),
});
export type ClientExport = z.infer<typeof clientExportSchema>;

/** Bookkeeping fields of the store (the session view included), not data about the client. */
const INTERNAL = { _id: 0, owner_id: 0, updated_at: 0, ...WITHOUT_VIEW } as const;

export async function exportClient(
  db: Db,
  fields: FieldCrypto,
  clientId: string,
  actor: Actor,
): Promise<ClientExport> {
  const found = await findVisible(db.collection<ClientDoc>(COLLECTIONS.clients), clientId, actor, {
    _id: 0,
    owner_id: 0,
    search_index: 0,
  });
  if (!found) throw new NotFoundError(`Client ${clientId} not found`);
  const client = fields.openClient(found);

  const sessions = await db
    .collection<SessionDoc>(COLLECTIONS.sessions)
    .find({ client_id: clientId }, { projection: INTERNAL })
    .sort({ created_at: 1 })
    .toArray();
  const ids = sessions.map((s) => s.session_id);
  const [messages, notes, series] = await Promise.all([
    db
      .collection<MessageDoc>(COLLECTIONS.messages)
      .find({ session_id: { $in: ids } }, { projection: { _id: 0 } })
      .sort({ session_id: 1, seq: 1 })
      .toArray(),
    db
      .collection<NoteDoc>(COLLECTIONS.notes)
      .find({ session_id: { $in: ids } }, { projection: { _id: 0 } })
      .sort({ timestamp: 1 })
      .toArray(),
    db
      .collection(COLLECTIONS.series)
      .find({ client_id: clientId }, { projection: { _id: 0, owner_id: 0 } })
      .sort({ created_at: 1 })
      .toArray(),
  ]);
  const group = <T extends { session_id: string }>(items: T[]) => {
    const map = new Map<string, T[]>();
    for (const item of items) map.set(item.session_id, [...(map.get(item.session_id) ?? []), item]);
    return map;
  };
  const messagesOf = group(messages.map((m) => fields.openMessage(m)));
  const notesOf = group(notes.map((n) => fields.openNote(n)));
  return {
    exported_at: new Date().toISOString(),
    client,
    sessions: sessions.map((s) => ({
      ...fields.openAssessment(s.session_id, s),
      messages: (messagesOf.get(s.session_id) ?? []).map(({ seq: _seq, ...m }) => m),
      facilitator_notes: (notesOf.get(s.session_id) ?? []).map(({ session_id: _s, ...n }) => n),
    })),
    // Series documents are stored in the API's shape, less the owner.
    series: series as unknown as ClientExport['series'],
  };
}
