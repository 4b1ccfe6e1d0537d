import { start as startApi, type ApiServer } from '../api/server';
import { httpClient, startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger, waitFor } from './helpers/stack';
import { TestSocket, wsUrl, type Frame } from './helpers/ws';

// A plain-JS fixture, so the spec's code stays as written.
const { runSpecClient } = require('./fixtures/spec-ws-client.js') as {
  runSpecClient: (
    url: string,
    token: string,
    sessionId: string,
    sink: { log(...args: unknown[]): void; error(...args: unknown[]): void },
  ) => { socket: { close(): void }; sendMessage(content: string): void };
};

describe('WebSocket fan-out and resume', () => {
  let rt: Runtime;
  let apiB: ApiServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    rt = await startRuntime();
    // A second API instance on the same config: no sticky sessions between them.
    apiB = await startApi(rt.config, quietLogger);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await apiB?.stop();
    await rt?.stop();
  });

  const open = async (apiUrl: string) => {
    const s = await TestSocket.open(apiUrl, { token: rt.admin.token });
    sockets.push(s);
    return s;
  };

  const activeSession = async () => {
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('ws'),
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    // The persona's opening message is stored before the session is used.
    await waitFor('the opening message', async () => {
      const res = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
      return res.body.messages.length > 0;
    });
    return id;
  };

  const persona = async (id: string, content: string) => {
    const res = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content,
      sender_type: 'persona',
    });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };

  it('delivers a message posted through one instance to a socket on another', async () => {
    const id = await activeSession();
    const onA = await open(rt.api.url);
    const joined = await onA.request('join_session', { session_id: id });
    expect(joined).toMatchObject({
      type: 'ack',
      data: { session_id: id, seq: expect.any(Number), session: { status: 'active' } },
    });

    const viaB = httpClient(apiB.url, rt.admin.token);
    const sent = await viaB('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Hello from instance B',
      sender_type: 'client',
    });
    expect(sent.status).toBe(201);

    const frame = await onA.next(
      (f) => f.type === 'new_message' && f.data.message.id === sent.body.id,
      'the message on instance A',
    );
    expect(frame).toEqual({
      type: 'new_message',
      id: expect.stringMatching(/^evt_/),
      data: { session_id: id, message: sent.body, seq: expect.any(Number) },
    });
    expect(frame.data.seq).toBeGreaterThan(joined.data.seq);
    // …and the persona's reply follows, produced by a worker and fanned out the same way.
    await onA.next(
      (f) =>
        f.type === 'new_message' &&
        f.data.message.sender_type === 'persona' &&
        f.data.message.metadata?.in_reply_to?.includes(sent.body.id),
      'the persona reply',
    );
  });

  it('sends session_update frames for lifecycle events', async () => {
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('ws'),
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    const s = await open(apiB.url);
    await s.request('join_session', { session_id: id });
    const start = await rt.http('POST', `/api/v1/sessions/${id}/start`);
    expect(start.status).toBe(200);
    // The spec's session_update example: session_id, status and started_at (plus our extras).
    const started = await s.next(
      (f) => f.type === 'session_update' && f.data.event === 'session.started',
      'the session.started update',
    );
    expect(started).toEqual({
      type: 'session_update',
      id: expect.stringMatching(/^evt_/),
      data: expect.objectContaining({
        session_id: id,
        status: 'active',
        started_at: start.body.started_at,
        seq: expect.any(Number),
      }),
    });
    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(200);
    const update = await s.next(
      (f) => f.type === 'session_update' && f.data.event === 'session.ended',
      'the session.ended update',
    );
    expect(update.data.seq).toBeGreaterThan(started.data.seq);
    expect(update.data).toMatchObject({
      session_id: id,
      status: 'completed',
      event: 'session.ended',
      ended_at: expect.stringMatching(/Z$/),
      seq: expect.any(Number),
    });
  });

  it('resumes after a disconnect with exactly the missed events, then live ones', async () => {
    const id = await activeSession();
    const first = await open(rt.api.url);
    await first.request('join_session', { session_id: id });
    const before = await persona(id, 'before the disconnect');
    const seen = await first.next(
      (f) => f.type === 'new_message' && f.data.message.id === before.id,
      'the message before the disconnect',
    );
    await first.close();

    const missed = [];
    for (const n of [1, 2, 3]) missed.push((await persona(id, `missed ${n}`)).id);

    const again = await open(apiB.url);
    const ack = await again.request('join_session', { session_id: id, since: seen.data.seq });
    expect(ack).toMatchObject({ type: 'ack', data: { seq: seen.data.seq } });
    await waitFor('the three missed messages', () => again.messages().length >= 3);
    const live = await persona(id, 'after the resume');
    await again.next(
      (f) => f.type === 'new_message' && f.data.message.id === live.id,
      'the live message',
    );

    const got = again.messages();
    expect(got.map((f) => f.data.message.id)).toEqual([...missed, live.id]);
    const seqs = got.map((f) => f.data.seq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs[0]).toBeGreaterThan(seen.data.seq);
  });

  it('replays a whole session from since: 0 without duplicates while messages keep coming', async () => {
    const id = await activeSession();
    const s = await open(rt.api.url);
    // Messages stored while the replay runs must appear once, in order.
    const sending = (async () => {
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) ids.push((await persona(id, `during ${n}`)).id);
      return ids;
    })();
    await s.request('join_session', { session_id: id, since: 0 });
    const during = await sending;
    await waitFor('every message', () =>
      during.every((m) => s.messages().some((f) => f.data.message.id === m)),
    );
    const stored = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`);
    expect(s.messages().map((f) => f.data.message.id)).toEqual(
      stored.body.messages.map((m: { id: string }) => m.id),
    );
  });

  it("runs the spec's JavaScript client example unchanged", async () => {
    const id = await activeSession();
    const logs: { level: 'log' | 'error'; args: unknown[] }[] = [];
    const sink = {
      log: (...args: unknown[]) => logs.push({ level: 'log', args }),
      error: (...args: unknown[]) => logs.push({ level: 'error', args }),
    };
    const client = runSpecClient(wsUrl(rt.api.url), rt.admin.token, id, sink);
    try {
      await waitFor('the connection', () =>
        logs.some((l) => l.args[0] === 'Connection established'),
      );
      // Frames of one socket are handled in order: the join is in place before the message.
      client.sendMessage('Hello, how are you feeling today?');
      const mine = await waitFor('the example’s own message', () =>
        logs.find(
          (l) =>
            l.args[0] === 'New message:' &&
            (l.args[1] as Frame['data']).content === 'Hello, how are you feeling today?',
        ),
      );
      expect(mine.args[1]).toMatchObject({ session_id: id, sender_type: 'client' });
      await waitFor('the persona reply in the example', () =>
        logs.some(
          (l) =>
            l.args[0] === 'New message:' &&
            (l.args[1] as Frame['data']).metadata?.in_reply_to?.includes(
              (mine.args[1] as { id: string }).id,
            ),
        ),
      );
      expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      client.socket.close();
    }
    await waitFor('the close log', () => logs.some((l) => l.args[0] === 'Connection closed:'));
  });

  it('closes sockets with 1001 when an instance shuts down', async () => {
    const extra = await startApi(rt.config, quietLogger);
    const s = await TestSocket.open(extra.url, { token: rt.admin.token });
    await extra.stop();
    expect(await s.waitClosed()).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});
