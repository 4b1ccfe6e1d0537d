import { randomBytes } from 'node:crypto';
import { eventSubject, publishJson } from '../lib/bus';
import { eventId } from '../lib/events';
import { start as startDispatcher, type RunningDispatcher } from '../workers/webhook-dispatcher';
import { startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger, unique, waitFor } from './helpers/stack';
import { quickWebhookConfig, startReceiver, type Receiver } from './helpers/webhook-receiver';
import { startOwnNats, type OwnNats } from './helpers/own-nats';

const SECRET = 'receiver-secret-0123456789';

/** Publishes `count` message events for a session, as the session workflow would. */
async function publishSessionEvents(rt: Runtime, sessionId: string, from: number, count: number) {
  const ids: string[] = [];
  for (let n = from; n < from + count; n++) {
    const id = eventId(sessionId, 'message.created', String(n));
    await publishJson(rt.bus, eventSubject('session', sessionId, 'message.created'), id, {
      event_id: id,
      event: 'message.created',
      timestamp: new Date().toISOString(),
      data: { session_id: sessionId, client_id: 'c_test', persona_id: 'p_test', n },
    });
    ids.push(id);
  }
  return ids;
}

const sessionOf = (r: { body: { data: Record<string, unknown> } }) => r.body.data.session_id;
const nOf = (r: { body: { data: Record<string, unknown> } }) => r.body.data.n as number;

describe('webhook delivery', () => {
  let rt: Runtime;
  // Two dispatchers share the work, as a scaled deployment would: nothing may arrive twice.
  let dispatchers: RunningDispatcher[] = [];
  const receivers: Receiver[] = [];

  let nats: OwnNats;

  beforeAll(async () => {
    // Its own NATS server: other test files publish events at the same time, and these tests
    // count every delivery and failure of their webhooks.
    nats = await startOwnNats('nats-webhooks');
    rt = await startRuntime(
      {
        ...quickWebhookConfig(nats.url),
        'webhooks.failing_after': 3,
        'webhooks.disable_after': 8,
      },
      { sessionWorker: false, personaWorker: false },
    );
    dispatchers = [
      await startDispatcher(rt.config, quietLogger, { identity: 'dispatcher-1' }),
      await startDispatcher(rt.config, quietLogger, { identity: 'dispatcher-2' }),
    ];
  });
  afterAll(async () => {
    await Promise.all(dispatchers.map((d) => d.stop()));
    await Promise.all(receivers.map((r) => r.close()));
    await rt?.bus.jsm.consumers.delete(rt.bus.stream, rt.config.webhooks.consumer).catch(() => 0);
    await rt?.stop();
    await nats?.stop();
  });

  const receiver = async (respond?: Parameters<typeof startReceiver>[1]) => {
    const r = await startReceiver(SECRET, respond);
    receivers.push(r);
    return r;
  };
  const register = async (url: string, events: string[]) => {
    const res = await rt.http('POST', '/api/v1/webhooks', { url, events, secret: SECRET });
    expect(res.status).toBe(201);
    return res.body.webhook_id as string;
  };

  it('POSTs the spec payload of a real event, signed, with the event id and a user agent', async () => {
    const r = await receiver();
    await register(r.url(), ['client.*']);
    const clientId = await rt.newClient();
    const got = await waitFor('the client.created delivery', () =>
      r.received.find((d) => d.body.data.client_id === clientId),
    );
    expect(got.verified).toBe(true);
    expect(got.body).toEqual({
      event: 'client.created',
      timestamp: expect.stringMatching(/Z$/),
      data: expect.objectContaining({ client_id: clientId }),
    });
    expect(got.eventId).toBe(eventId(clientId, 'client.created'));
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toBe('SmartSteps-Webhooks/1.0');
    expect(Math.abs(Number(got.headers['x-signature-timestamp']) - Date.now() / 1000)).toBeLessThan(
      60,
    );
  });

  it("delivers a facilitator's webhook only the events of its own clients", async () => {
    const mine = await receiver();
    const all = await receiver();
    const facilitator = await rt.signIn('facilitator');
    const created = await facilitator.http('POST', '/api/v1/webhooks', {
      url: mine.url(),
      events: ['*'],
      secret: SECRET,
    });
    expect(created.status).toBe(201);
    await register(all.url(), ['client.created']);

    const adminsClient = await rt.newClient();
    const ownClient = await rt.newClient({}, facilitator.http);
    await waitFor('the own client.created', () =>
      mine.received.find((d) => d.body.data.client_id === ownClient),
    );
    // Taken off the stream in order: the admin's client came first and was not for this webhook.
    expect(mine.received.map((d) => d.body.data.client_id)).toEqual([ownClient]);
    await waitFor('both at the unrestricted webhook', () =>
      [adminsClient, ownClient].every((c) => all.received.some((d) => d.body.data.client_id === c)),
    );
  });

  it('retries through a run of 500s and delivers every event once, in order per session', async () => {
    let failuresLeft = 5;
    const r = await receiver(() => (failuresLeft-- > 0 ? 500 : 200));
    const webhookId = await register(r.url(), ['message.created']);
    const [a, b] = [unique('s_a'), unique('s_b')];
    const ids = [
      ...(await publishSessionEvents(rt, a, 0, 3)),
      ...(await publishSessionEvents(rt, b, 0, 3)),
      ...(await publishSessionEvents(rt, a, 3, 3)),
      ...(await publishSessionEvents(rt, b, 3, 3)),
    ];
    await waitFor('every event accepted', () => r.accepted().length >= ids.length, 30_000);

    const accepted = r.accepted();
    expect(accepted.every((d) => d.verified)).toBe(true);
    expect(accepted.map((d) => d.eventId).sort()).toEqual([...ids].sort());
    for (const session of [a, b]) {
      // Every attempt, failed or not: a later event is never tried before an earlier one got 2xx.
      const tries = r.received.filter((d) => sessionOf(d) === session).map(nOf);
      expect(tries).toEqual([...tries].sort((x, y) => x - y));
      expect(accepted.filter((d) => sessionOf(d) === session).map(nOf)).toEqual([0, 1, 2, 3, 4, 5]);
    }

    const log = await waitFor('every attempt in the log', async () => {
      const res = await rt.http('GET', `/api/v1/webhooks/${webhookId}/deliveries?limit=100`);
      return res.body.pagination.total === r.received.length ? res : undefined;
    });
    const failed = log.body.deliveries.filter((d: { success: boolean }) => !d.success);
    expect(failed).toHaveLength(5);
    expect(failed[0]).toMatchObject({ status_code: 500, event: 'message.created' });
    expect(failed.some((d: { next_retry_at?: string }) => d.next_retry_at)).toBe(true);
    const times = log.body.deliveries.map((d: { started_at: string }) => d.started_at);
    expect(times).toEqual([...times].sort().reverse());
    // Five failures in a row made it `failing`; the successes after made it active again.
    await waitFor(
      'the webhook to be active again',
      async () => (await rt.http('GET', `/api/v1/webhooks/${webhookId}`)).body.status === 'active',
    );
  });

  it('disables a webhook after a run of failures and announces it on the stream', async () => {
    const r = await receiver(() => 503);
    const webhookId = await register(r.url(), ['session.*']);
    const sessionId = unique('s_c');
    for (const event of ['session.scheduled', 'session.started']) {
      const id = eventId(sessionId, event);
      await publishJson(rt.bus, eventSubject('session', sessionId, event), id, {
        event_id: id,
        event,
        timestamp: new Date().toISOString(),
        data: { session_id: sessionId },
      });
    }
    await waitFor(
      'the webhook to be disabled',
      async () =>
        (await rt.http('GET', `/api/v1/webhooks/${webhookId}`)).body.status === 'disabled',
      30_000,
    );
    // Only the first event was tried: the second waited behind it.
    expect(new Set(r.received.map((d) => d.event))).toEqual(new Set(['session.scheduled']));
    expect(r.received).toHaveLength(8);
    const msg = await rt.bus.js.consumers
      .get(rt.bus.stream, { filter_subjects: [eventSubject('webhook', webhookId, '>')] })
      .then((c) => c.next({ expires: 5_000 }));
    expect(msg?.json()).toMatchObject({
      event: 'webhook.disabled',
      data: { webhook_id: webhookId, consecutive_failures: 8 },
    });
    const log = await waitFor('the last attempt in the log', async () => {
      const res = await rt.http('GET', `/api/v1/webhooks/${webhookId}/deliveries?limit=1`);
      return res.body.pagination.total === 8 ? res : undefined;
    });
    const redo = await rt.http(
      'POST',
      `/api/v1/webhooks/${webhookId}/deliveries/${log.body.deliveries[0].delivery_id}/redeliver`,
    );
    expect(redo.status).toBe(409);
  });

  it('lists deliveries, redelivers one and pings, over HTTP, never showing the secret', async () => {
    const r = await receiver();
    const webhookId = await register(r.url(), ['message.created']);
    const [id] = await publishSessionEvents(rt, unique('s_d'), 0, 1);
    await waitFor('the first delivery', () => r.accepted().find((d) => d.eventId === id));

    // The attempt is recorded just after the receiver answered.
    const log = await waitFor('the attempt in the log', async () => {
      const res = await rt.http('GET', `/api/v1/webhooks/${webhookId}/deliveries`);
      return res.body.deliveries.length === 1 ? res : undefined;
    });
    const first = log.body.deliveries[0];
    expect(first).toMatchObject({
      delivery_id: expect.stringMatching(/^whd_/),
      webhook_id: webhookId,
      event_id: id,
      event: 'message.created',
      trigger: 'event',
      attempt: 1,
      success: true,
      status_code: 200,
    });
    expect(JSON.stringify(log.body)).not.toContain(SECRET);

    const redo = await rt.http(
      'POST',
      `/api/v1/webhooks/${webhookId}/deliveries/${first.delivery_id}/redeliver`,
    );
    expect(redo.status).toBe(202);
    expect(redo.body).toEqual({
      webhook_id: webhookId,
      event_id: id,
      event: 'message.created',
      status: 'queued',
    });
    await waitFor(
      'the redelivery',
      () => r.accepted().filter((d) => d.eventId === id).length === 2,
    );
    const again = r.accepted().filter((d) => d.eventId === id);
    expect(again[1]!.body).toEqual(again[0]!.body);
    expect(again[1]!.verified).toBe(true);

    const ping = await rt.http('POST', `/api/v1/webhooks/${webhookId}/ping`);
    expect(ping.status).toBe(200);
    expect(ping.body).toMatchObject({
      event: 'ping',
      trigger: 'ping',
      success: true,
      status_code: 200,
    });
    const pinged = r.received.find((d) => d.event === 'ping')!;
    expect(pinged.verified).toBe(true);
    expect(pinged.body.data).toMatchObject({ webhook_id: webhookId });
    expect(pinged.eventId).toBe(ping.body.event_id);

    const all = await waitFor('three attempts in the log', async () => {
      const res = await rt.http('GET', `/api/v1/webhooks/${webhookId}/deliveries?limit=2&page=1`);
      return res.body.pagination.total === 3 ? res : undefined;
    });
    expect(all.body.deliveries.map((d: { trigger: string }) => d.trigger)).toEqual([
      'ping',
      'redeliver',
    ]);

    const missing = await rt.http(
      'POST',
      `/api/v1/webhooks/${webhookId}/deliveries/whd_${randomBytes(4).toString('hex')}/redeliver`,
    );
    expect(missing.status).toBe(404);
    const other = await rt.signIn('facilitator');
    const hidden = await other.http('GET', `/api/v1/webhooks/${webhookId}/deliveries`);
    expect(hidden.status).toBe(404);
  });
});
