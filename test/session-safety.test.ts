/**
 * Safety on every turn, end to end: a client message is screened before the persona answers it;
 * an elevated risk raises `alert.raised` (stream, WebSocket, webhook) ahead of the reply, and the
 * reply steps out of role with the configured crisis lines.
 */
import type { LifecycleEvent } from '../lib/schemas/events';
import { start as startDispatcher, type RunningDispatcher } from '../workers/webhook-dispatcher';
import { collectEvents, startRuntime, type EventCollector, type Runtime } from './helpers/runtime';
import { quietLogger, unique, waitFor } from './helpers/stack';
import { startReceiver, type Receiver } from './helpers/webhook-receiver';
import { TestSocket } from './helpers/ws';

const SECRET = 'safety-receiver-secret-0123';

type MessageEvent = Extract<LifecycleEvent, { event: 'message.created' }>;
type AlertEvent = Extract<LifecycleEvent, { event: 'alert.raised' }>;

describe('safety on every turn', () => {
  let rt: Runtime;
  let dispatcher: RunningDispatcher;
  let receiver: Receiver;
  const sockets: TestSocket[] = [];
  const collectors: EventCollector[] = [];

  beforeAll(async () => {
    rt = await startRuntime({
      'webhooks.allowed_hosts': ['127.0.0.1'],
      'webhooks.consumer': unique('webhooks'),
      'webhooks.poll_interval_ms': 50,
      'safety.emergency_number': 'the Testland emergency number 000',
      'safety.crisis_resources': [
        { name: 'Testland Crisis Line', contact: 'call 555 0100', region: 'Testland' },
        { name: 'Testland Abuse Line', contact: 'call 555 0199', for: ['abuse'] },
      ],
    });
    dispatcher = await startDispatcher(rt.config, quietLogger, { identity: unique('dispatcher') });
    receiver = await startReceiver(SECRET);
    const hook = await rt.http('POST', '/api/v1/webhooks', {
      url: receiver.url('/alerts'),
      events: ['alert.raised'],
      secret: SECRET,
    });
    expect(hook.status).toBe(201);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await Promise.all(collectors.map((c) => c.stop()));
    await dispatcher?.stop();
    await receiver?.close();
    await rt?.bus.jsm.consumers.delete(rt.bus.stream, rt.config.webhooks.consumer).catch(() => 0);
    await rt?.stop();
  });

  /** An active session whose opening message has been written, with its events followed. */
  const openSession = async () => {
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.newClient(),
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
      goals: ['Manage work stress'],
    });
    const id = created.body.session_id as string;
    const events = await collectEvents(rt.bus, id);
    collectors.push(events);
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    await events.next(
      (e) => e.event === 'message.created' && e.data.message.sender_type === 'persona',
      'the opening message',
    );
    return { id, events };
  };

  const send = async (id: string, content: string) => {
    const res = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content,
      sender_type: 'client',
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  const replyTo = (events: EventCollector, messageId: string) =>
    events.next(
      (e) =>
        e.event === 'message.created' &&
        (e.data.message.metadata?.in_reply_to as string[] | undefined)?.includes(messageId) ===
          true,
      `the persona's reply to ${messageId}`,
    ) as Promise<MessageEvent>;

  const alertsFor = (events: EventCollector, messageId: string) =>
    events.events.filter(
      (e): e is AlertEvent => e.event === 'alert.raised' && e.data.alert.message_id === messageId,
    );

  it('raises alert.raised on the stream, the WebSocket and the webhook before the reply to a crisis message', async () => {
    const { id, events } = await openSession();
    const socket = await TestSocket.open(rt.api.url, { token: rt.admin.token });
    sockets.push(socket);
    expect((await socket.request('join_session', { session_id: id })).type).toBe('ack');

    const crisis = await send(
      id,
      "I can't do this anymore. I have pills saved up and I'm going to end my life tonight.",
    );
    const reply = await replyTo(events, crisis);

    // The stream: the alert names the message, and comes before the reply.
    const [alert, ...more] = alertsFor(events, crisis);
    expect(more).toEqual([]);
    expect(alert!.data.alert).toEqual({
      alert_id: expect.stringMatching(/^al_/),
      type: 'risk_language',
      severity: 'critical',
      categories: ['suicide'],
      message: expect.stringContaining('suicide'),
      message_id: crisis,
      raised_at: expect.stringMatching(/Z$/),
    });
    expect(events.events.indexOf(alert!)).toBeLessThan(events.events.indexOf(reply));

    // The reply: out of role, honest that it is an AI, with the configured lines.
    const { content, metadata } = reply.data.message;
    expect(content).toContain('AI persona');
    expect(content).toContain('the Testland emergency number 000');
    expect(content).toContain('Testland Crisis Line (Testland): call 555 0100');
    expect(content).not.toContain('Testland Abuse Line');
    expect(metadata).toMatchObject({
      move: 'safety',
      risk: {
        level: 'critical',
        categories: ['suicide'],
        message_id: crisis,
        alert_id: alert!.data.alert.alert_id,
      },
    });

    // The WebSocket: the facilitator's socket gets the alert frame before the reply's.
    const frame = await socket.next((f) => f.type === 'alert', 'the alert frame');
    expect(frame.data).toMatchObject({ session_id: id, alert: alert!.data.alert });
    const replyFrame = await socket.next(
      (f) => f.type === 'new_message' && f.data.message.id === reply.data.message.id,
      'the reply frame',
    );
    expect(socket.frames.indexOf(frame)).toBeLessThan(socket.frames.indexOf(replyFrame));

    // The webhook: delivered, signed, with the same alert.
    const delivered = await waitFor('the alert webhook', () =>
      receiver.received.find(
        (r) => (r.body.data.alert as { message_id?: string } | undefined)?.message_id === crisis,
      ),
    );
    expect(delivered.verified).toBe(true);
    expect(delivered.eventId).toBe(alert!.event_id);
    expect(delivered.body).toMatchObject({ event: 'alert.raised', data: alert!.data });
  });

  it('answers a denial in role, with no alert', async () => {
    const { id, events } = await openSession();
    const denial = await send(
      id,
      'I would never hurt myself, but I feel anxious and overwhelmed at work.',
    );
    const reply = await replyTo(events, denial);
    // The screen runs before the reply is asked for, so by now an alert would be on the stream.
    expect(alertsFor(events, denial)).toEqual([]);
    expect(reply.data.message.metadata?.move).not.toBe('safety');
    expect(reply.data.message.metadata?.risk).toBeUndefined();
    expect(reply.data.message.content).not.toContain('Crisis Line');
  });

  it('alerts the facilitator to a past risk without stepping out of role', async () => {
    const { id, events } = await openSession();
    const past = await send(
      id,
      'My dad used to hit me when I was a kid, and I still think about it.',
    );
    const reply = await replyTo(events, past);
    const [alert] = alertsFor(events, past);
    expect(alert?.data.alert).toMatchObject({ severity: 'medium', categories: ['abuse'] });
    expect(reply.data.message.metadata).toMatchObject({
      risk: { level: 'medium', categories: ['abuse'], message_id: past },
    });
    expect(reply.data.message.metadata?.move).not.toBe('safety');
    expect(reply.data.message.content).not.toContain('555 0199');
  });

  it('names the lines that serve the risk heard: abuse gets the abuse line', async () => {
    const { id, events } = await openSession();
    const abuse = await send(id, "My partner hits me when he drinks and I'm scared to go home.");
    const reply = await replyTo(events, abuse);
    expect(alertsFor(events, abuse)[0]?.data.alert).toMatchObject({
      severity: 'high',
      categories: ['abuse'],
    });
    expect(reply.data.message.metadata?.move).toBe('safety');
    expect(reply.data.message.content).toContain('Testland Abuse Line: call 555 0199');
    expect(reply.data.message.content).toMatch(/No one deserves|not your fault/);
  });
});
