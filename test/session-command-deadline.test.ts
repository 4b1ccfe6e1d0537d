/**
 * A session command the runtime cannot answer (its session worker gone) is answered 503 within
 * temporal.command_timeout_seconds instead of holding the caller; retried with the same
 * Idempotency-Key once a worker is back, the message is stored and answered once, and the note
 * stored once, whether or not the first attempt went through in the meantime. The same holds for
 * a `send_message` frame re-sent with its `idempotency_key`.
 */
import { randomUUID } from 'node:crypto';
import { start as startSessionWorker } from '../workers/session-worker';
import { collectEvents, startedSession, startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger, waitFor, workflowBundle } from './helpers/stack';
import { TestSocket } from './helpers/ws';

describe('session commands while no session worker answers', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ 'temporal.command_timeout_seconds': 2 });
  });
  let socket: TestSocket | undefined;
  afterAll(async () => {
    await socket?.close();
    await rt?.stop();
  });

  jest.setTimeout(90_000);

  it('answers 503 in time, and a retry with the same key stores and answers the message once', async () => {
    const id = await startedSession(rt, 'deadline');
    const events = await collectEvents(rt.bus, id);
    // rt.workers[0] is the session worker (see startRuntime).
    await rt.workers[0]!.stop();

    const key = randomUUID();
    const noteKey = randomUUID();
    const message = { content: 'Is anyone there?', sender_type: 'client' };
    const note = { content: 'Asked while the worker was away' };
    const send = () =>
      rt.http('POST', `/api/v1/sessions/${id}/messages`, message, { 'Idempotency-Key': key });
    const addNote = () =>
      rt.http('POST', `/api/v1/sessions/${id}/notes`, note, { 'Idempotency-Key': noteKey });

    // Over the socket, the same deadline: an error worth retrying with the same key.
    socket = await TestSocket.open(rt.api.url, { token: rt.admin.token });
    const frame = {
      session_id: id,
      content: 'Sent over the socket meanwhile',
      sender_type: 'client',
      idempotency_key: randomUUID(),
    };
    expect(await socket.request('send_message', frame)).toMatchObject({
      type: 'error',
      data: { code: 'internal_error', details: { reason: 'service_unavailable' } },
    });

    for (const away of [await send(), await addNote()]) {
      expect(away.status).toBe(503);
      expect(away.body).toEqual({
        error: {
          code: 'service_unavailable',
          message: expect.stringMatching(/did not answer in time.*Idempotency-Key/),
          details: {},
          request_id: expect.stringMatching(/^req_/),
        },
      });
    }

    rt.workers[0] = await startSessionWorker(rt.config, quietLogger, {
      workflowBundle: workflowBundle(),
    });
    // As a client would: the same request, same key, until it is answered.
    const untilCreated = (what: string, post: typeof send, timeoutMs: number) =>
      waitFor(
        what,
        async () => {
          const res = await post();
          return res.status === 201 ? res : undefined;
        },
        timeoutMs,
      );
    const sent = await untilCreated('the retried message to be answered', send, 60_000);
    const noted = await untilCreated('the retried note to be answered', addNote, 30_000);
    const resent = await socket.request('send_message', frame);
    expect(resent).toMatchObject({ type: 'ack' });
    expect(sent.body).toMatchObject({ ...message, session_id: id });
    expect(noted.body).toMatchObject(note);

    await events.next(
      (e) =>
        e.event === 'message.created' &&
        e.data.message.sender_type === 'persona' &&
        ((e.data.message.metadata?.in_reply_to as string[] | undefined) ?? []).includes(
          sent.body.id,
        ),
      'the reply to the retried message',
    );
    // One more turn, so a second reply to the first message (if any) would be out by now.
    const later = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Thanks.',
      sender_type: 'client',
    });
    await events.next(
      (e) =>
        e.event === 'message.created' &&
        ((e.data.message.metadata?.in_reply_to as string[] | undefined) ?? []).includes(
          later.body.id,
        ),
      'the reply to the next message',
    );
    await events.stop();

    const { body } = await rt.http('GET', `/api/v1/sessions/${id}`);
    const asked = body.messages.filter((m: { content: string }) => m.content === message.content);
    expect(asked.map((m: { id: string }) => m.id)).toEqual([sent.body.id]);
    const replies = body.messages.filter((m: { metadata?: { in_reply_to?: string[] } }) =>
      m.metadata?.in_reply_to?.includes(sent.body.id),
    );
    expect(replies).toHaveLength(1);
    expect(
      body.messages
        .filter((m: { content: string }) => m.content === frame.content)
        .map((m: { id: string }) => m.id),
    ).toEqual([resent.data.message.id]);
    expect(
      body.facilitator_notes.filter((n: { content: string }) => n.content === note.content),
    ).toHaveLength(1);
  });
});
