import pino from 'pino';
import WebSocket from 'ws';
import { start as startApi } from '../api/server';
import { startRuntime, type Runtime, type SignedIn } from './helpers/runtime';
import { waitFor } from './helpers/stack';
import { TestSocket, wsUrl, type Frame } from './helpers/ws';

describe('the WebSocket protocol', () => {
  let rt: Runtime;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    rt = await startRuntime({
      'websocket.auth_timeout_seconds': 0.5,
      'websocket.max_frame_bytes': 2048,
      'websocket.heartbeat_seconds': 1,
      'websocket.max_buffered_bytes': 65_536,
    });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await rt?.stop();
  });

  const open = async (opts: Parameters<typeof TestSocket.open>[1] = { token: rt.admin.token }) => {
    const s = await TestSocket.open(rt.api.url, opts);
    sockets.push(s);
    return s;
  };

  const activeSession = async (as: SignedIn = rt.admin) => {
    const client = await rt.newClient({}, as.http);
    const created = await as.http('POST', '/api/v1/sessions', {
      client_id: client,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    expect((await as.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    return { id, client };
  };

  describe('authentication', () => {
    it('closes a socket that sends no credentials, saying why', async () => {
      const s = await open({});
      const closed = await s.waitClosed();
      expect(closed.code).toBe(4001);
      expect(s.frames).toEqual([
        {
          type: 'error',
          id: expect.stringMatching(/^srv_/),
          data: expect.objectContaining({ code: 'authentication_error', request_id: null }),
        },
      ]);
    });

    it('refuses to resume from a cursor past the newest event, which would skip events', async () => {
      const s = await open();
      const { id } = await activeSession();
      const reply = await s.request('join_session', { session_id: id, since: 1_000_000_000 });
      expect(reply).toMatchObject({
        type: 'error',
        data: { code: 'invalid_request', details: { field: 'since' } },
      });
      // The socket carries on: a join without a cursor works.
      expect((await s.request('join_session', { session_id: id })).type).toBe('ack');
    });

    it('ends a socket whose login was logged out, within a heartbeat', async () => {
      const user = await rt.signIn('facilitator', 'leaver');
      const s = await open({ token: user.token });
      const { id } = await activeSession(user);
      expect((await s.request('join_session', { session_id: id })).type).toBe('ack');
      expect((await user.http('POST', '/api/v1/auth/logout')).status).toBe(204);
      const closed = await s.waitClosed();
      expect(closed.code).toBe(4001);
      expect(s.frames.at(-1)).toMatchObject({
        type: 'error',
        data: { code: 'authentication_error', message: expect.stringMatching(/no longer valid/) },
      });
    });

    it('rejects a bad token with an error frame and close code 4001', async () => {
      const s = await open({ token: 'not-a-token' });
      expect((await s.waitClosed()).code).toBe(4001);
      expect(s.frames[0]).toMatchObject({
        type: 'error',
        data: { code: 'authentication_error' },
      });
    });

    it('accepts the Authorization header, the token query parameter and an auth frame', async () => {
      const { id } = await activeSession();
      const byHeader = await open({ token: rt.admin.token });
      expect(await byHeader.request('join_session', { session_id: id })).toMatchObject({
        type: 'ack',
      });

      const byQuery = await open({ query: `?token=${encodeURIComponent(rt.admin.token)}` });
      expect(await byQuery.request('join_session', { session_id: id })).toMatchObject({
        type: 'ack',
      });

      const byFrame = await open({});
      // Before authenticating, other frames are refused but the socket stays open.
      expect(await byFrame.request('join_session', { session_id: id })).toMatchObject({
        type: 'error',
        data: { code: 'authentication_error' },
      });
      expect(await byFrame.request('auth', { token: rt.admin.token })).toMatchObject({
        type: 'ack',
        data: { authenticated: true, kind: 'user', role: 'admin' },
      });
      expect(await byFrame.request('join_session', { session_id: id })).toMatchObject({
        type: 'ack',
        data: { session_id: id, session: { status: 'active' } },
      });
      expect(byFrame.closed).toBeUndefined();
    });

    it('accepts the header form of the spec’s connection example', async () => {
      const ws = new WebSocket(wsUrl(rt.api.url), [], {
        headers: { Authorization: `Bearer ${rt.admin.token}` },
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const reply = new Promise<string>((resolve) =>
        ws.once('message', (d) => resolve((d as Buffer).toString('utf8'))),
      );
      ws.send(JSON.stringify({ type: 'leave_session', id: 'x1', data: { session_id: 's_none' } }));
      expect(JSON.parse(await reply)).toMatchObject({ type: 'ack', data: { request_id: 'x1' } });
      ws.close();
    });

    it('does not let a facilitator join another facilitator’s session', async () => {
      const alice = await rt.signIn('facilitator', 'alice');
      const bob = await rt.signIn('facilitator', 'bob');
      const { id } = await activeSession(alice);
      const asBob = await open({ token: bob.token });
      const refused = await asBob.request('join_session', { session_id: id });
      const missing = await asBob.request('join_session', { session_id: 's_doesnotexist' });
      // Not visible reads exactly like not found.
      for (const [frame, sid] of [
        [refused, id],
        [missing, 's_doesnotexist'],
      ] as const) {
        expect(frame).toMatchObject({
          type: 'error',
          data: { code: 'session_not_found', message: `Session ${sid} not found` },
        });
      }
      expect(await asBob.request('send_message', { session_id: id, content: 'hi' })).toMatchObject({
        type: 'error',
        data: { code: 'session_not_found' },
      });
      const asAlice = await open({ token: alice.token });
      expect(await asAlice.request('join_session', { session_id: id })).toMatchObject({
        type: 'ack',
      });
    });

    it('needs the write permission to send', async () => {
      const viewer = await rt.signIn('viewer');
      const { id } = await activeSession();
      const s = await open({ token: viewer.token });
      expect(await s.request('join_session', { session_id: id })).toMatchObject({ type: 'ack' });
      expect(await s.request('send_message', { session_id: id, content: 'hi' })).toMatchObject({
        type: 'error',
        data: { code: 'permission_denied' },
      });
    });
  });

  it('stores a message sent over the socket once and acks it with the stored message', async () => {
    const { id, client } = await activeSession();
    const s = await open();
    await s.request('join_session', { session_id: id });
    const ack = await s.request('send_message', {
      session_id: id,
      content: 'Sent over the socket',
      sender_type: 'client',
    });
    expect(ack).toEqual({
      type: 'ack',
      id: expect.stringMatching(/^srv_/),
      data: {
        request_id: expect.any(String),
        session_id: id,
        message: {
          id: expect.stringMatching(/^m_/),
          session_id: id,
          sender_type: 'client',
          sender_id: client,
          content: 'Sent over the socket',
          timestamp: expect.stringMatching(/Z$/),
        },
      },
    });
    const messageId = ack.data.message.id as string;
    const echoed = await s.next(
      (f) => f.type === 'new_message' && f.data.message.id === messageId,
      'the new_message of the sent message',
    );
    expect(echoed.data.message).toEqual(ack.data.message);
    const listed = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`);
    expect(
      listed.body.messages.filter((m: { content: string }) => m.content === 'Sent over the socket'),
    ).toEqual([ack.data.message]);
  });

  it('stores a send_message re-sent with its idempotency_key once, on a new socket or over REST', async () => {
    const { id } = await activeSession();
    const frame = {
      session_id: id,
      content: 'Did the socket drop before this arrived?',
      sender_type: 'client',
      idempotency_key: 'retry-key-0001',
    };
    const first = await (await open()).request('send_message', frame);
    expect(first).toMatchObject({ type: 'ack' });
    // The socket dropped before the ack arrived, say: the app sends the frame again on a new one…
    const again = await (await open()).request('send_message', frame);
    expect(again.data.message).toEqual(first.data.message);
    // …or gives up on the socket and posts it.
    const posted = await rt.http(
      'POST',
      `/api/v1/sessions/${id}/messages`,
      { content: frame.content, sender_type: 'client' },
      { 'Idempotency-Key': frame.idempotency_key },
    );
    expect(posted.body).toEqual(first.data.message);
    // The same key for something else said is another message (a key reused after its 24 h).
    const reused = await (
      await open()
    ).request('send_message', {
      ...frame,
      content: 'Something else entirely',
    });
    expect(reused.data.message.id).not.toBe(first.data.message.id);
    // Another caller's identical key is theirs alone.
    const other = await rt.signIn('admin', 'other-sender');
    const theirs = await (await open({ token: other.token })).request('send_message', frame);
    expect(theirs.data.message.id).not.toBe(first.data.message.id);

    const listed = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`);
    expect(
      listed.body.messages
        .filter((m: { content: string }) => m.content === frame.content)
        .map((m: { id: string }) => m.id),
    ).toEqual([first.data.message.id, theirs.data.message.id]);

    const malformed = await (
      await open()
    ).request('send_message', {
      ...frame,
      idempotency_key: 'x',
    });
    expect(malformed).toMatchObject({
      type: 'error',
      data: { code: 'invalid_request', details: { field: 'data.idempotency_key' } },
    });
  });

  it('stores messages sent over the socket and over REST at once in one order, each once', async () => {
    const { id } = await activeSession();
    const s = await open();
    await s.request('join_session', { session_id: id });
    // Both paths at the same time: the socket's frames are not awaited one by one.
    const overSocket = Array.from({ length: 4 }, (_, n) =>
      s.request('send_message', {
        session_id: id,
        content: `socket ${n}`,
        sender_type: 'facilitator',
      }),
    );
    const overRest = Array.from({ length: 4 }, (_, n) =>
      rt.http('POST', `/api/v1/sessions/${id}/messages`, {
        content: `rest ${n}`,
        sender_type: 'facilitator',
      }),
    );
    const acks = await Promise.all(overSocket);
    const posted = await Promise.all(overRest);
    expect(acks.map((a) => a.type)).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(posted.map((p) => p.status)).toEqual([201, 201, 201, 201]);
    const socketIds = acks.map((a) => a.data.message.id as string);
    const sent = new Set([...socketIds, ...posted.map((p) => p.body.id as string)]);

    await waitFor('every message on the socket', () =>
      [...sent].every((m) => s.messages().some((f) => f.data.message.id === m)),
    );
    const streamed = s
      .messages()
      .filter((f) => sent.has(f.data.message.id))
      .map((f) => f.data.message.id as string);
    const listed = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`);
    const stored = listed.body.messages
      .map((m: { id: string }) => m.id)
      .filter((m: string) => sent.has(m));
    // One order whichever path a message took: the transcript's is the stream's, each once.
    expect(stored).toEqual(streamed);
    expect(stored).toHaveLength(8);
    // A socket's own messages keep the order it sent them in.
    expect(stored.filter((m: string) => socketIds.includes(m))).toEqual(socketIds);
  });

  it('answers a flood of frames it cannot queue with rate_limited, and every frame once', async () => {
    const { id } = await activeSession();
    const s = await open();
    await s.request('join_session', { session_id: id });
    // Sent at once, each a Temporal Update handled in turn: far more than the 64 a socket may
    // have waiting.
    const requestIds = Array.from({ length: 150 }, (_, n) => `flood_${n}`);
    for (const [n, requestId] of requestIds.entries()) {
      s.send({
        type: 'send_message',
        id: requestId,
        data: { session_id: id, content: `flood ${n}`, sender_type: 'facilitator' },
      });
    }
    const replies = await Promise.all(requestIds.map((r) => s.replyTo(r)));
    const limited = replies.filter((f) => f.type === 'error');
    expect(limited.length).toBeGreaterThan(0);
    for (const f of limited) {
      expect(f.data).toMatchObject({ code: 'rate_limited', message: expect.any(String) });
    }
    // One reply per frame, nothing else for them, and the socket stays open and joined.
    expect(s.frames.filter((f) => requestIds.includes(f.data?.request_id as string))).toHaveLength(
      150,
    );
    expect(s.closed).toBeUndefined();
    const accepted = replies.filter((f) => f.type === 'ack').map((f) => f.data.message.id);
    const stored: { id: string; content: string }[] = [];
    for (let page = 1; ; page++) {
      const res = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100&page=${page}`);
      stored.push(...res.body.messages);
      if (res.body.messages.length < 100) break;
    }
    const flood = stored.filter((m) => m.content.startsWith('flood '));
    expect(flood.map((m) => m.id)).toEqual(accepted);
  });

  it('answers a message for a session that is over with an error frame', async () => {
    const { id } = await activeSession();
    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(200);
    const s = await open();
    expect(await s.request('send_message', { session_id: id, content: 'too late' })).toMatchObject({
      type: 'error',
      data: { code: 'invalid_request', details: { reason: 'conflict' } },
    });
  });

  it('answers malformed, unknown, invalid and oversized frames with errors and keeps working', async () => {
    const { id } = await activeSession();
    const s = await open();
    await s.request('join_session', { session_id: id });

    s.send('{not json');
    await s.next(
      (f) => f.type === 'error' && /not valid JSON/.test(f.data.message),
      'the JSON error',
    );
    expect(await s.request('shout', { session_id: id })).toMatchObject({
      type: 'error',
      data: { code: 'invalid_request', message: expect.stringMatching(/Unknown frame type/) },
    });
    expect(await s.request('join_session', {})).toMatchObject({
      type: 'error',
      data: { code: 'invalid_request', details: { field: 'data.session_id' } },
    });
    s.send({
      type: 'send_message',
      id: 'big',
      data: { session_id: id, content: 'x'.repeat(4000) },
    });
    // An oversized frame is not read, so its error cannot name its id.
    expect(
      await s.next((f) => f.type === 'error' && /exceeds/.test(f.data.message), 'the size error'),
    ).toMatchObject({
      type: 'error',
      data: { code: 'invalid_request', message: 'Frame exceeds 2048 bytes', request_id: null },
    });

    // Still open, still joined, still following the session.
    expect(s.closed).toBeUndefined();
    const posted = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'still here',
      sender_type: 'persona',
    });
    await s.next(
      (f) => f.type === 'new_message' && f.data.message.id === posted.body.id,
      'a live message after the bad frames',
    );
  });

  it('closes only the socket that sends a frame far past the limit, with 1009', async () => {
    const { id } = await activeSession();
    const flooder = await open();
    const bystander = await open();
    await flooder.request('join_session', { session_id: id });
    await bystander.request('join_session', { session_id: id });
    // Past 16 × max_frame_bytes the frame is not even read: the socket is closed as too big.
    flooder.send({ type: 'send_message', id: 'huge', data: { content: 'x'.repeat(40_000) } });
    expect((await flooder.waitClosed('the flooding socket to close')).code).toBe(1009);
    const posted = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'the others carry on',
      sender_type: 'persona',
    });
    await bystander.next(
      (f) => f.type === 'new_message' && f.data.message.id === posted.body.id,
      'a live message on the other socket',
    );
    expect(bystander.closed).toBeUndefined();
  });

  it('relays typing indicators to the other sockets of the session and stores nothing', async () => {
    const { id, client } = await activeSession();
    const a = await open();
    const b = await open();
    const elsewhere = await open();
    await a.request('join_session', { session_id: id });
    await b.request('join_session', { session_id: id });
    const before = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`);

    a.send({
      type: 'typing_indicator',
      id: 't1',
      data: { session_id: id, sender_type: 'client', is_typing: true },
    });
    // The persona's own typing indicators (its opening greeting) may arrive too; only the
    // client's are the subject here.
    const fromClient = (f: Frame) =>
      f.type === 'typing_indicator' && f.data.sender_type === 'client';
    const seen = await b.next(fromClient, 'the typing indicator on b');
    expect(seen.data).toEqual({
      session_id: id,
      sender_type: 'client',
      sender_id: client,
      is_typing: true,
      timestamp: expect.stringMatching(/Z$/),
    });
    // b's answer travels the same path after a's: once a has it, an echo of a's own would be there.
    b.send({
      type: 'typing_indicator',
      id: 't2',
      data: { session_id: id, sender_type: 'client', is_typing: false },
    });
    await a.next(fromClient, 'the typing indicator on a');
    expect(a.frames.filter(fromClient).map((f) => f.data.is_typing)).toEqual([false]);
    expect(elsewhere.frames).toEqual([]);

    const after = await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`);
    expect(after.body.messages).toEqual(before.body.messages);
  });

  it('terminates a socket that stops answering pings', async () => {
    const dead = await open({ token: rt.admin.token, autoPong: false });
    const healthy = await open();
    const closed = await dead.waitClosed('the silent socket to be terminated', 10_000);
    expect(closed.code).toBe(1006);
    expect(healthy.closed).toBeUndefined();
  });

  it('closes a socket that does not read fast enough with 4008', async () => {
    // An instance of its own, whose log says when it gives up on the socket, and whose
    // heartbeat does not end the paused socket first.
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const api = await startApi(
      { ...rt.config, websocket: { ...rt.config.websocket, heartbeat_seconds: 600 } },
      log,
    );
    try {
      const { id } = await activeSession();
      const slow = await TestSocket.open(api.url, { token: rt.admin.token });
      await slow.request('join_session', { session_id: id });
      // Stop reading; frames pile up behind the socket until its buffer passes the limit.
      const raw = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      raw.pause();
      const typing = JSON.stringify({
        session_id: id,
        sender_type: 'persona',
        sender_id: 'x'.repeat(32_000),
        is_typing: true,
        timestamp: new Date().toISOString(),
      });
      const gaveUp = () => lines.some((l) => l.includes('slow consumer'));
      // Kernel buffers take a few MB first; publish until the server says it gave up (bounded).
      for (let batch = 0; batch < 40 && !gaveUp(); batch++) {
        for (let n = 0; n < 50; n++) rt.bus.nc.publish(`ss.live.session.${id}.typing`, typing);
        await rt.bus.nc.flush();
      }
      await waitFor('the server to give up on the socket', gaveUp);
      raw.resume();
      const closed = await slow.waitClosed('the slow socket to be closed');
      expect(closed).toEqual({
        code: 4008,
        reason: 'slow consumer: send buffer full; reconnect and join with since',
      });
    } finally {
      await api.stop();
    }
  });
});
