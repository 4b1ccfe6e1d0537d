/**
 * The events issue 5 names, each raised by a real action (REST calls driving the session
 * workflow) and delivered by a dispatcher to a webhook that subscribed with wildcards: nothing
 * here is published by hand, so an event the runtime stopped raising fails this test.
 */
import type { LifecycleEvent } from '../lib/schemas/events';
import { start as startDispatcher, type RunningDispatcher } from '../workers/webhook-dispatcher';
import { sessionEvents, startRuntime, type Runtime } from './helpers/runtime';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { quietLogger, unique, waitFor } from './helpers/stack';
import {
  quickWebhookConfig,
  startReceiver,
  type Receiver,
  type Received,
} from './helpers/webhook-receiver';

const SECRET = 'events-receiver-secret-0123';

describe('webhooks for real lifecycle events', () => {
  let rt: Runtime;
  let nats: OwnNats;
  let dispatcher: RunningDispatcher;
  let receiver: Receiver;

  beforeAll(async () => {
    // Its own NATS server: the dispatcher's consumer then sees only this file's events.
    nats = await startOwnNats('nats-webhook-events');
    rt = await startRuntime(quickWebhookConfig(nats.url));
    dispatcher = await startDispatcher(rt.config, quietLogger, { identity: unique('dispatcher') });
    receiver = await startReceiver(SECRET);
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await rt?.bus.jsm.consumers.delete(rt.bus.stream, rt.config.webhooks.consumer).catch(() => 0);
    await rt?.stop();
    await nats?.stop();
  });

  it('delivers every listed event of a real client and its sessions, signed, once each, in stream order', async () => {
    const hook = await rt.http('POST', '/api/v1/webhooks', {
      url: receiver.url(),
      events: ['session.*', 'message.*', 'client.*', 'note.*', 'alert.*'],
      secret: SECRET,
    });
    expect(hook.status).toBe(201);

    const clientId = await rt.newClient();
    const create = async () => {
      const created = await rt.http('POST', '/api/v1/sessions', {
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        duration_minutes: 30,
      });
      expect(created.status).toBe(201);
      return created.body.session_id as string;
    };
    const held = await create();
    expect((await rt.http('POST', `/api/v1/sessions/${held}/start`)).status).toBe(200);
    // A crisis message raises alert.raised (the risk screen runs on every client message).
    const crisis = await rt.http('POST', `/api/v1/sessions/${held}/messages`, {
      content:
        "I can't do this anymore. I have pills saved up and I'm going to end my life tonight.",
      sender_type: 'client',
    });
    expect(crisis.status).toBe(201);
    const note = await rt.http('POST', `/api/v1/sessions/${held}/notes`, {
      content: 'Safety plan discussed.',
    });
    expect(note.status).toBe(201);
    // The persona's reply to the crisis message is part of the session's events.
    await waitFor('the reply to the crisis message', async () => {
      const res = await rt.http('GET', `/api/v1/sessions/${held}/messages?limit=100`);
      return res.body.messages.some((m: { metadata?: { in_reply_to?: string[] } }) =>
        m.metadata?.in_reply_to?.includes(crisis.body.id as string),
      );
    });
    expect((await rt.http('POST', `/api/v1/sessions/${held}/end`)).status).toBe(200);
    const cancelled = await create();
    expect((await rt.http('POST', `/api/v1/sessions/${cancelled}/cancel`)).status).toBe(200);

    const stored = async (id: string) => {
      const all = await sessionEvents(rt.bus, id);
      // Analysis may publish later events; what is compared is what was stored by now.
      return all.filter((e) => e.event !== 'persona.fallback');
    };
    const deliveredFor = (id: string) =>
      receiver.received.filter((r: Received) => r.body.data.session_id === id);
    const expected = new Map<string, LifecycleEvent[]>();
    await waitFor(
      'every stored event of both sessions delivered',
      async () => {
        for (const id of [held, cancelled]) {
          const events = await stored(id);
          expected.set(id, events);
          const got = new Set(deliveredFor(id).map((r) => r.eventId));
          if (!events.every((e) => got.has(e.event_id))) return false;
        }
        return true;
      },
      30_000,
    );

    const names = new Set(receiver.received.map((r) => r.event));
    for (const event of [
      'client.created',
      'session.scheduled',
      'session.started',
      'message.created',
      'alert.raised',
      'note.added',
      'session.ended',
      'session.cancelled',
    ]) {
      expect(names).toContain(event);
    }
    expect(receiver.received.every((r) => r.verified && r.status === 200)).toBe(true);
    // Once per X-Event-Id.
    const ids = receiver.received.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(ids.length);

    for (const [id, events] of expected) {
      // Per session, in the order the stream holds them, with the spec's payload.
      const delivered = deliveredFor(id).filter((r) =>
        events.some((e) => e.event_id === r.eventId),
      );
      expect(delivered.map((r) => r.eventId)).toEqual(events.map((e) => e.event_id));
      for (const [n, r] of delivered.entries()) {
        expect(r.body).toEqual({
          event: events[n]!.event,
          timestamp: events[n]!.timestamp,
          data: events[n]!.data,
        });
      }
    }
    expect((expected.get(cancelled) ?? []).map((e) => e.event)).toEqual([
      'session.scheduled',
      'session.cancelled',
    ]);
    // The spec's "Webhook Payload Example", field by field.
    const ended = receiver.received.find((r) => r.event === 'session.ended');
    expect(ended?.body).toEqual({
      event: 'session.ended',
      timestamp: expect.stringMatching(/Z$/),
      data: expect.objectContaining({
        session_id: held,
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        started_at: expect.stringMatching(/Z$/),
        ended_at: expect.stringMatching(/Z$/),
      }),
    });
    const clientCreated = receiver.received.find((r) => r.event === 'client.created');
    expect(clientCreated?.body.data).toMatchObject({ client_id: clientId });
  });
});
