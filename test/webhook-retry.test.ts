/**
 * The retry schedule of failed webhook deliveries: exponential from the initial delay up to the
 * maximum, spread by jitter, and, with the shipped defaults, going on for hours before a
 * delivery is given up. The integration tests run it with millisecond delays, where none of
 * this is visible.
 */
import { eventSubject, publishJson } from '../lib/bus';
import { configSchema } from '../lib/config';
import { eventId } from '../lib/events';
import { COLLECTIONS, type WebhookTaskDoc } from '../lib/store/collections';
import { retryDelayMs, type WebhookSettings } from '../lib/webhooks/deliver';
import { start as startDispatcher, type RunningDispatcher } from '../workers/webhook-dispatcher';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger, unique, waitFor } from './helpers/stack';
import { quickWebhookConfig, startReceiver, type Receiver } from './helpers/webhook-receiver';

const defaults: WebhookSettings = configSchema.shape.webhooks.parse({});
const withRetry = (retry: Partial<WebhookSettings['retry']>): WebhookSettings => ({
  ...defaults,
  retry: { ...defaults.retry, ...retry },
});

describe('webhook retry delays', () => {
  it('double after each failure, from the initial delay up to the maximum', () => {
    const settings = withRetry({ initial_delay_seconds: 10, max_delay_seconds: 300, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => retryDelayMs(settings, attempt))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('are spread by the jitter, within its bounds, so receivers are not retried in lockstep', () => {
    const settings = withRetry({ initial_delay_seconds: 10, max_delay_seconds: 300, jitter: 0.2 });
    const delays = Array.from({ length: 200 }, () => retryDelayMs(settings, 3));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(32_000);
      expect(d).toBeLessThanOrEqual(48_000);
    }
    // 200 draws from ±20 %: all alike would mean no jitter at all.
    expect(new Set(delays).size).toBeGreaterThan(50);
  });

  it('keep a failing delivery going for hours with the default settings', () => {
    // What the dispatcher does: the next attempt is scheduled while it comes within the maximum
    // age of the event, so the last one falls in the final hour of it.
    const maxAgeMs = defaults.retry.max_age_hours * 3_600_000;
    expect(defaults.retry.max_age_hours).toBeGreaterThanOrEqual(2);
    expect(defaults.retry.jitter).toBeGreaterThan(0);
    let elapsed = 0;
    let attempts = 1;
    for (;;) {
      const next = elapsed + retryDelayMs(defaults, attempts);
      if (next > maxAgeMs) break;
      elapsed = next;
      attempts++;
    }
    expect(elapsed).toBeGreaterThan(maxAgeMs - defaults.retry.max_delay_seconds * 1000 * 1.5);
    expect(elapsed).toBeGreaterThan(2 * 3_600_000);
    expect(attempts).toBeGreaterThan(10);
  });
});

describe('a delivery that keeps failing past its maximum age', () => {
  const SECRET = 'expiry-receiver-secret-0123';
  let nats: OwnNats;
  let rt: Runtime;
  let dispatcher: RunningDispatcher;
  let receiver: Receiver;
  let failing = true;
  const doomed = unique('s_doomed');

  beforeAll(async () => {
    // Its own NATS server: the dispatcher's consumer then sees only this test's events.
    nats = await startOwnNats('nats-webhook-expiry');
    rt = await startRuntime(
      {
        ...quickWebhookConfig(nats.url),
        // About a second: a handful of attempts at the test's millisecond delays.
        'webhooks.retry.max_age_hours': 0.0003,
        // Given up by age, not by disabling the webhook.
        'webhooks.disable_after': 1000,
      },
      { sessionWorker: false, personaWorker: false },
    );
    dispatcher = await startDispatcher(rt.config, quietLogger, { identity: unique('dispatcher') });
    receiver = await startReceiver(SECRET, (r) =>
      failing && r.body.data.session_id === doomed ? 500 : 200,
    );
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await rt?.bus.jsm.consumers.delete(rt.bus.stream, rt.config.webhooks.consumer).catch(() => 0);
    await rt?.stop();
    await nats?.stop();
  });

  it('is given up after its last attempt, in order, without holding up other sessions, and can be redelivered', async () => {
    const created = await rt.http('POST', '/api/v1/webhooks', {
      url: receiver.url(),
      events: ['message.created'],
      secret: SECRET,
    });
    expect(created.status).toBe(201);
    const webhookId = created.body.webhook_id as string;
    const publish = async (sessionId: string, n: number) => {
      const id = eventId(sessionId, 'message.created', String(n));
      await publishJson(rt.bus, eventSubject('session', sessionId, 'message.created'), id, {
        event_id: id,
        event: 'message.created',
        timestamp: new Date().toISOString(),
        data: { session_id: sessionId, n },
      });
      return id;
    };
    const first = await publish(doomed, 0);
    const second = await publish(doomed, 1);
    const other = await publish(unique('s_fine'), 0);

    await waitFor('the other session delivered', () =>
      receiver.accepted().some((d) => d.eventId === other),
    );
    const done = rt.api.connections.store.db.collection<WebhookTaskDoc>(
      COLLECTIONS.webhookTasksDone,
    );
    const given = await waitFor(
      'both doomed deliveries given up',
      async () => {
        const tasks = await done
          .find({ _id: { $in: [`${webhookId}:${first}`, `${webhookId}:${second}`] } })
          .toArray();
        return tasks.length === 2 ? tasks : undefined;
      },
      30_000,
    );
    expect(given.map((t) => t.state)).toEqual(['failed', 'failed']);

    // Order holds to the end: the second was first tried after the first was given up.
    const tries = receiver.received.filter((d) => d.body.data.session_id === doomed);
    const lastOfFirst = tries.map((d) => d.eventId).lastIndexOf(first);
    expect(tries.findIndex((d) => d.eventId === second)).toBeGreaterThan(lastOfFirst);
    expect(lastOfFirst).toBeGreaterThan(0);

    // Every attempt is in the log; only the last promises no retry.
    const log = await waitFor('every attempt in the log', async () => {
      const res = await rt.http('GET', `/api/v1/webhooks/${webhookId}/deliveries?limit=100`);
      return res.body.pagination.total === receiver.received.length ? res : undefined;
    });
    const attempts = (
      log.body.deliveries as { delivery_id: string; event_id: string; attempt: number }[]
    )
      .filter((d) => d.event_id === first)
      .sort((a, b) => a.attempt - b.attempt);
    expect(attempts.map((d) => d.attempt)).toEqual(attempts.map((_, i) => i + 1));
    expect(attempts.at(-1)).not.toHaveProperty('next_retry_at');
    for (const d of attempts.slice(0, -1)) {
      expect(d).toMatchObject({ success: false, next_retry_at: expect.stringMatching(/Z$/) });
    }

    // By hand, once the receiver is back.
    failing = false;
    const redo = await rt.http(
      'POST',
      `/api/v1/webhooks/${webhookId}/deliveries/${attempts.at(-1)!.delivery_id}/redeliver`,
    );
    expect(redo.status).toBe(202);
    await waitFor('the redelivery', () => receiver.accepted().some((d) => d.eventId === first));
  });
});
