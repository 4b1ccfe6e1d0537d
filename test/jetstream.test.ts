import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connectBus, eventSubject, publishJson, type Bus } from '../lib/bus';
import { testConfig, unique } from './helpers/stack';

describe('NATS JetStream event stream', () => {
  // Every test file shares the one stream (as every process does); ids and subjects are unique per test.
  const config = testConfig();
  const stream = config.nats.stream;
  let bus: Bus;

  beforeAll(async () => {
    bus = await connectBus(config, 'jetstream-test');
  });

  afterAll(async () => {
    await bus?.close();
  });

  it('creates the events stream on ss.events.> with file storage and a duplicate window', async () => {
    const info = await bus.jsm.streams.info(stream);
    expect(info.config.name).toBe('SS_EVENTS');
    expect(info.config.subjects).toEqual(['ss.events.>']);
    expect(info.config.storage).toBe('file');
    expect(info.config.duplicate_window).toBe(config.nats.duplicate_window_seconds * 1e9);
  });

  it('drops a republished event with the same id, so a retried activity yields one event', async () => {
    const subject = eventSubject('session', unique('s'), 'session.started');
    const dedupId = unique('evt');
    const first = await publishJson(bus, subject, dedupId, { event: 'session.started' });
    const second = await publishJson(bus, subject, dedupId, { event: 'session.started' });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const third = await publishJson(bus, subject, `${dedupId}-other`, { event: 'session.started' });
    expect(third.duplicate).toBe(false);
    expect(third.seq).toBeGreaterThan(first.seq);
  });

  it('delivers to a durable consumer that resumes after a restart without redelivering acked events', async () => {
    const sessionId = unique('s');
    // Event names hold a dot (message.created), so a per-session filter needs '>' rather than '*'.
    const filter = eventSubject('session', sessionId, '>');
    const durable = unique('dispatcher');
    await bus.jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filter,
    });

    for (const n of [1, 2, 3]) {
      await publishJson(
        bus,
        eventSubject('session', sessionId, 'message.created'),
        `evt-${sessionId}-${n}`,
        { n },
      );
    }

    const consumer = await bus.js.consumers.get(stream, durable);
    const firstBatch: number[] = [];
    for (let i = 0; i < 2; i++) {
      const msg = await consumer.next({ expires: 5_000 });
      if (!msg) throw new Error('expected a message');
      firstBatch.push(msg.json<{ n: number }>().n);
      expect(await msg.ackAck()).toBe(true);
    }
    expect(firstBatch).toEqual([1, 2]);

    // A new connection stands in for a restarted dispatcher process.
    const restarted = await connectBus(config, 'jetstream-test-restarted');
    try {
      const again = await restarted.js.consumers.get(stream, durable);
      const msg = await again.next({ expires: 5_000 });
      expect(msg && msg.json<{ n: number }>().n).toBe(3);
      expect(await msg?.ackAck()).toBe(true);
      const info = await again.info();
      expect({ pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({
        pending: 0,
        unacked: 0,
      });
    } finally {
      await restarted.close();
    }
  });
});
