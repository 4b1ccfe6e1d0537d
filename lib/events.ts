import { createHash } from 'node:crypto';
import { LIVE_SUBJECT_ROOT, eventSubject, publishJson, type Bus } from './bus';
import type { LifecycleEvent, MessageDeltaEvent, TypingEvent } from './schemas/events';

/**
 * A deterministic event id: the same fact (entity, event, key) always gets the same id, so an
 * activity that publishes again after a retry is dropped by JetStream's duplicate window and
 * recognised by consumers (webhooks' X-Event-Id).
 */
export function eventId(entityId: string, event: string, key = ''): string {
  return (
    'evt_' + createHash('sha256').update(`${entityId}|${event}|${key}`).digest('hex').slice(0, 24)
  );
}

/** Publishes a lifecycle event of any entity on `ss.events.<entity>.<id>.<event>`; returns its stream sequence. */
export async function publishEvent(
  bus: Bus,
  entity: 'session' | 'client',
  entityId: string,
  evt: LifecycleEvent,
): Promise<number> {
  const ack = await publishJson(bus, eventSubject(entity, entityId, evt.event), evt.event_id, evt);
  return ack.seq;
}

export function typingSubject(sessionId: string): string {
  return `${LIVE_SUBJECT_ROOT}.session.${sessionId}.typing`;
}

/** Typing indicators are ephemeral: core NATS, at most once, never stored. */
export function publishTyping(bus: Bus, evt: TypingEvent): void {
  bus.nc.publish(typingSubject(evt.session_id), JSON.stringify(evt));
}

export function deltaSubject(sessionId: string): string {
  return `${LIVE_SUBJECT_ROOT}.session.${sessionId}.delta`;
}

/**
 * Reply deltas are ephemeral like typing: a preview for the sockets watching now, while the
 * stored `message.created` stays the record (a client that misses deltas loses nothing).
 */
export function publishDelta(bus: Bus, evt: MessageDeltaEvent): void {
  bus.nc.publish(deltaSubject(evt.session_id), JSON.stringify(evt));
}
