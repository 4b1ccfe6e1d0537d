import type { LifecycleEvent } from '../lib/schemas/events';
import { collectEvents, sessionEvents, startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

const isMessage = (e: LifecycleEvent) => e.event === 'message.created';
const fromPersona = (e: LifecycleEvent) =>
  e.event === 'message.created' && e.data.message.sender_type === 'persona';

describe('a session through the REST API', () => {
  let rt: Runtime;

  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const createSession = async (extra: Record<string, unknown> = {}) => {
    const res = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('jane'),
      persona_id: 'dr_morgan_hayes',
      goals: ['Explore coping strategies', 'Discuss recent progress'],
      duration_minutes: 45,
      metadata: { session_number: 5, location: 'virtual' },
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body as { session_id: string } & Record<string, unknown>;
  };

  it('creates, starts, converses, ends and summarises, publishing every event exactly once', async () => {
    const created = await createSession();
    expect(created).toMatchObject({
      session_id: expect.stringMatching(/^s_[a-z0-9]{16}$/),
      client_id: await rt.clientId('jane'),
      persona_id: 'dr_morgan_hayes',
      status: 'scheduled',
      duration_minutes: 45,
      goals: ['Explore coping strategies', 'Discuss recent progress'],
      metadata: { session_number: 5, location: 'virtual' },
      created_by: rt.admin.email,
    });
    expect(created.created_at).toMatch(/Z$/);
    const id = created.session_id;
    const events = await collectEvents(rt.bus, id);

    // A read right after the write sees the session.
    const fresh = await rt.http('GET', `/api/v1/sessions/${id}`);
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({
      session_id: id,
      status: 'scheduled',
      messages: [],
      facilitator_notes: [],
    });

    const started = await rt.http('POST', `/api/v1/sessions/${id}/start`);
    expect(started.status).toBe(200);
    expect(started.body).toEqual({
      session_id: id,
      status: 'active',
      started_at: expect.stringMatching(/Z$/),
    });

    // The persona opens the conversation.
    const opening = await events.next(fromPersona, 'the opening message');

    const sent = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: "I've been feeling a bit stressed about work.",
      sender_type: 'client',
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toEqual({
      id: expect.stringMatching(/^m_/),
      session_id: id,
      sender_type: 'client',
      sender_id: await rt.clientId('jane'),
      content: "I've been feeling a bit stressed about work.",
      timestamp: expect.stringMatching(/Z$/),
    });
    const clientMessageId = (sent.body as { id: string }).id;

    const reply = await events.next(
      (e) =>
        fromPersona(e) &&
        e !== opening &&
        e.event === 'message.created' &&
        e.data.message.id !== (opening.data as { message: { id: string } }).message.id,
      'the persona reply',
    );
    expect(reply.event === 'message.created' && reply.data.message.metadata?.in_reply_to).toEqual([
      clientMessageId,
    ]);

    const note = await rt.http('POST', `/api/v1/sessions/${id}/notes`, {
      content: 'Client appeared more relaxed.',
    });
    expect(note.status).toBe(201);
    expect(note.body).toMatchObject({
      id: expect.stringMatching(/^n_/),
      content: 'Client appeared more relaxed.',
      author: rt.admin.email,
    });

    const ended = await rt.http('POST', `/api/v1/sessions/${id}/end`);
    expect(ended.status).toBe(200);
    expect(ended.body).toEqual({
      session_id: id,
      status: 'completed',
      started_at: (started.body as { started_at: string }).started_at,
      ended_at: expect.stringMatching(/Z$/),
      duration_minutes: 45,
    });

    const endedEvent = await events.next((e) => e.event === 'session.ended', 'session.ended');
    expect(endedEvent.data).toMatchObject({
      session_id: id,
      client_id: await rt.clientId('jane'),
      persona_id: 'dr_morgan_hayes',
      status: 'completed',
    });

    const details = await rt.http('GET', `/api/v1/sessions/${id}`);
    expect(details.body).toMatchObject({ status: 'completed', summary: expect.any(String) });
    expect((details.body as { insights: unknown[] }).insights.length).toBeGreaterThan(0);
    const messages = (details.body as { messages: Array<{ sender_type: string; id: string }> })
      .messages;
    expect(messages.map((m) => m.sender_type)).toEqual(['persona', 'client', 'persona']);
    expect(messages[1]!.id).toBe(clientMessageId);
    expect((details.body as { facilitator_notes: unknown[] }).facilitator_notes).toHaveLength(1);

    await events.stop();
    const all = await sessionEvents(rt.bus, id);
    expect(all.map((e) => e.event)).toEqual([
      'session.scheduled',
      'session.started',
      'message.created',
      'message.created',
      'message.created',
      'note.added',
      'session.ended',
    ]);
    expect(new Set(all.map((e) => e.event_id)).size).toBe(all.length);
    expect(
      all.filter(isMessage).map((e) => e.event === 'message.created' && e.data.message.id),
    ).toEqual(messages.map((m) => m.id));
  });

  it('rejects commands that do not fit the session state with 409, before they reach history', async () => {
    const { session_id: id } = await createSession();
    const early = await rt.http('POST', `/api/v1/sessions/${id}/messages`, { content: 'hello?' });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({
      code: 'conflict',
      message: 'Session has not started yet',
    });
    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(409);

    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    const twice = await rt.http('POST', `/api/v1/sessions/${id}/start`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toBe('Session is already active');

    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(200);
    const endTwice = await rt.http('POST', `/api/v1/sessions/${id}/end`);
    expect(endTwice.status).toBe(409);
    expect(endTwice.body.error.message).toBe('Session is already completed');
    const late = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'one more thing',
    });
    expect(late.status).toBe(409);
    // Once the workflow has closed, the answer comes from the read model, in the same words.
    await rt.api.connections.temporal.client.workflow.getHandle(`session-${id}`).result();
    const endAfterClose = await rt.http('POST', `/api/v1/sessions/${id}/end`);
    expect(endAfterClose.status).toBe(409);
    expect(endAfterClose.body.error.message).toBe('Session is already completed');

    const cancelled = await createSession();
    const cancel = await rt.http('POST', `/api/v1/sessions/${cancelled.session_id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({
      status: 'cancelled',
      cancelled_at: expect.stringMatching(/Z$/),
    });
    expect((await rt.http('POST', `/api/v1/sessions/${cancelled.session_id}/start`)).status).toBe(
      409,
    );
    await waitFor('the cancelled status to be readable', async () => {
      const res = await rt.http('GET', `/api/v1/sessions/${cancelled.session_id}`);
      return res.body.status === 'cancelled';
    });
  });

  it('answers invalid input with 422 naming the field, and unknown sessions with 404', async () => {
    const missing = await rt.http('POST', '/api/v1/sessions', { persona_id: 'dr_morgan_hayes' });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatchObject({
      code: 'validation_error',
      details: { field: 'client_id' },
    });

    const persona = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('1'),
      persona_id: 'dr_nobody',
    });
    expect(persona.status).toBe(422);
    expect(persona.body.error.details).toMatchObject({ field: 'persona_id' });

    const past = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('1'),
      persona_id: 'dr_morgan_hayes',
      scheduled_at: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(422);
    expect(past.body.error.details).toMatchObject({ field: 'scheduled_at' });

    const { session_id: id } = await createSession();
    await rt.http('POST', `/api/v1/sessions/${id}/start`);
    const empty = await rt.http('POST', `/api/v1/sessions/${id}/messages`, { content: '   ' });
    expect(empty.status).toBe(422);
    const sender = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'hi',
      sender_type: 'robot',
    });
    expect(sender.status).toBe(422);
    expect(sender.body.error.details).toMatchObject({ field: 'sender_type' });

    const unknown = await rt.http('GET', '/api/v1/sessions/s_doesnotexist0000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('resource_not_found');
    expect((await rt.http('POST', '/api/v1/sessions/s_doesnotexist0000/start')).status).toBe(404);
  });

  it('shows the persona typing around its reply, on the ephemeral live subject', async () => {
    const { session_id: id } = await createSession();
    const events = await collectEvents(rt.bus, id);
    await rt.http('POST', `/api/v1/sessions/${id}/start`);
    await events.next(fromPersona, 'the opening message');

    const typing: Array<{ is_typing: boolean; sender_type: string; sender_id: string }> = [];
    const sub = rt.bus.nc.subscribe(`ss.live.session.${id}.typing`, {
      callback: (_err, msg) => {
        typing.push(msg.json());
      },
    });
    await rt.bus.nc.flush();
    const sent = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'I argued with my sister.',
    });
    await events.next(
      (e) =>
        e.event === 'message.created' &&
        (e.data.message.metadata?.in_reply_to as string[] | undefined)?.[0] === sent.body.id,
      'the reply',
    );
    await waitFor('typing to stop', () => typing.some((t) => !t.is_typing));
    expect(typing.map((t) => t.is_typing)).toEqual([true, false]);
    expect(typing[0]).toMatchObject({ sender_type: 'persona', sender_id: 'dr_morgan_hayes' });
    sub.unsubscribe();
    // Typing indicators are not part of the durable stream.
    expect(events.events.every((e) => !e.event.includes('typing'))).toBe(true);
    await events.stop();
  });

  it('stores injected persona and facilitator messages without generating a reply to them', async () => {
    const { session_id: id } = await createSession();
    const events = await collectEvents(rt.bus, id);
    await rt.http('POST', `/api/v1/sessions/${id}/start`);
    await events.next(fromPersona, 'the opening message');

    const injected = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Hello, how are you feeling today?',
      sender_type: 'persona',
    });
    expect(injected.status).toBe(201);
    expect(injected.body).toMatchObject({ sender_type: 'persona', sender_id: 'dr_morgan_hayes' });
    const facilitator = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Observer joined.',
      sender_type: 'facilitator',
    });
    expect(facilitator.body).toMatchObject({
      sender_type: 'facilitator',
      sender_id: rt.admin.email,
    });

    // A client message afterwards gets exactly one reply, which proves nothing else was queued.
    const client = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'I slept better this week.',
    });
    await events.next(
      (e) =>
        fromPersona(e) &&
        e.event === 'message.created' &&
        Array.isArray(e.data.message.metadata?.in_reply_to),
      'the reply',
    );
    const state = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
    expect(state.body.messages.map((m: { sender_type: string }) => m.sender_type)).toEqual([
      'persona',
      'persona',
      'facilitator',
      'client',
      'persona',
    ]);
    expect(state.body.messages[3].id).toBe(client.body.id);
    expect(state.body.pagination).toEqual({ total: 5, page: 1, page_size: 50, pages: 1 });
    await events.stop();
  });

  it('echoes scheduled_at in UTC as the caller wrote it', async () => {
    const created = await createSession({ scheduled_at: '2030-05-15T14:00:00Z' });
    expect(created.scheduled_at).toBe('2030-05-15T14:00:00Z');
    const offset = await createSession({ scheduled_at: '2030-05-15T16:30:00+02:00' });
    expect(offset.scheduled_at).toBe('2030-05-15T14:30:00Z');
  });

  it('starts a session by itself at its scheduled time, with the persona opening', async () => {
    const scheduledAt = new Date(Date.now() + 3_000).toISOString();
    const { session_id: id } = await createSession({ scheduled_at: scheduledAt });
    const events = await collectEvents(rt.bus, id);
    const started = await events.next(
      (e) => e.event === 'session.started',
      'session.started',
      20_000,
    );
    expect(Date.parse((started.data as { started_at: string }).started_at)).toBeGreaterThanOrEqual(
      Date.parse(scheduledAt),
    );
    await events.next(fromPersona, 'the opening message');
    expect((await rt.http('GET', `/api/v1/sessions/${id}`)).body.status).toBe('active');
    await events.stop();
  });
});
