import type { LifecycleEvent } from '../lib/schemas/events';
import { freePort } from '../scripts/stack/ports';
import { startLlmServer, type LlmServer } from './helpers/llm-server';
import { collectEvents, startRuntime, type EventCollector, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';
import { TestSocket, type Frame } from './helpers/ws';

const KEY = 'sk-e2e-not-a-real-key-0123456789';

describe('a persona answering through an OpenAI-compatible provider', () => {
  let llm: LlmServer;
  let rt: Runtime;
  let metricsUrl: string;
  const sockets: TestSocket[] = [];
  const collectors: EventCollector[] = [];

  beforeAll(async () => {
    llm = await startLlmServer();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    rt = await startRuntime({
      'llm.provider': 'openai',
      'llm.openai.base_url': llm.baseUrl('openai'),
      'llm.openai.model': 'test-model',
      'llm.openai.api_key': KEY,
      'llm.first_token_timeout_seconds': 2,
      'llm.timeout_seconds': 10,
      'llm.max_retries': 1,
      'llm.retry_delay_seconds': 0.05,
      'metrics.port': metricsPort,
    });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await Promise.all(collectors.map((c) => c.stop()));
    await rt?.stop();
    await llm?.close();
  });
  beforeEach(() => llm.behave({ kind: 'reply', pieceDelayMs: 10 }));

  /** An active session whose events a socket follows from before it started. */
  async function watchedSession() {
    const client = await rt.newClient();
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: client,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
      goals: ['feel calmer before presentations'],
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    const socket = await TestSocket.open(rt.api.url, { token: rt.admin.token });
    sockets.push(socket);
    expect((await socket.request('join_session', { session_id: id })).type).toBe('ack');
    const events = await collectEvents(rt.bus, id);
    collectors.push(events);
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    await socket.next(
      (f) => f.type === 'new_message' && f.data.message.sender_type === 'persona',
      'the opening message',
    );
    return { id, socket, events };
  }

  /** Sends a client message over the socket; resolves with the persona's reply frame. */
  async function say(socket: TestSocket, sessionId: string, content: string): Promise<Frame> {
    const ack = await socket.request('send_message', { session_id: sessionId, content });
    expect(ack.type).toBe('ack');
    const sent = ack.data.message.id as string;
    return socket.next(
      (f) =>
        f.type === 'new_message' &&
        f.data.message.sender_type === 'persona' &&
        (f.data.message.metadata?.in_reply_to ?? []).includes(sent),
      'the persona reply',
    );
  }

  const deltasOf = (socket: TestSocket, messageId: string) =>
    socket.frames.filter((f) => f.type === 'message_delta' && f.data.message_id === messageId);

  async function metric(line: RegExp): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const found = text.split('\n').find((l) => line.test(l));
    return found ? Number(found.split(' ').at(-1)) : 0;
  }

  it('streams the reply as message_delta frames, then sends the message with the same id and words', async () => {
    const { id, socket } = await watchedSession();
    const content = 'I keep worrying about my talk on Friday.';
    const reply = await say(socket, id, content);
    const message = reply.data.message;

    const deltas = deltasOf(socket, message.id);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.data.index)).toEqual(deltas.map((_, i) => i));
    expect(deltas.every((d) => d.data.attempt === 1 && d.data.session_id === id)).toBe(true);
    expect(deltas.map((d) => d.data.delta).join('')).toBe(message.content);
    expect(message.content).toContain(content);
    // Every delta came before the message on this socket.
    expect(socket.frames.indexOf(deltas.at(-1)!)).toBeLessThan(socket.frames.indexOf(reply));
    expect(message.metadata).toMatchObject({ engine: 'openai', model: 'test-model' });

    // The provider was asked as the persona, with the session's goals and recent turns.
    const request = llm.requests.findLast((r) => JSON.stringify(r.body.messages).includes(content));
    expect(request).toBeDefined();
    expect(request!.headers.authorization).toBe(`Bearer ${KEY}`);
    const [system, ...turns] = request!.body.messages as Array<{ role: string; content: string }>;
    expect(system!.role).toBe('system');
    expect(system!.content).toContain('You are Dr. Morgan Hayes, an AI persona');
    expect(system!.content).toContain('feel calmer before presentations');
    expect(turns.map((t) => t.role)).toEqual(['user', 'assistant', 'user']);
    expect(turns.at(-1)!.content).toBe(content);

    expect(
      await metric(/^smartsteps_persona_reply_seconds_count\{engine="openai",provider="openai"\} /),
    ).toBeGreaterThanOrEqual(2);
  });

  it('lets the local engine answer when the provider fails, and says so in an event, the frames, the metadata and the metrics', async () => {
    const { id, socket, events } = await watchedSession();
    const fallbacksBefore = await metric(
      /^smartsteps_persona_fallbacks_total\{provider="openai"\} /,
    );
    const failuresBefore = await metric(
      /^smartsteps_persona_provider_failures_total\{provider="openai",reason="http_500"\} /,
    );
    llm.behave({ kind: 'status', status: 500 });

    const reply = await say(socket, id, 'I feel anxious about work.');
    const message = reply.data.message;
    expect(message.metadata).toMatchObject({
      engine: 'local',
      fallback_from: 'openai',
      fallback_model: 'test-model',
      fallback_reason: 'http_500',
    });
    expect(message.content).toMatch(/anxious/);
    expect(deltasOf(socket, message.id)).toEqual([]);

    const event = await events.next(
      (e) => e.event === 'persona.fallback' && e.data.message_id === message.id,
      'the persona.fallback event',
    );
    expect(event.data).toEqual({
      session_id: id,
      client_id: expect.any(String),
      persona_id: 'dr_morgan_hayes',
      message_id: message.id,
      provider: 'openai',
      model: 'test-model',
      reason: 'http_500',
    });
    const frame = socket.frames.find(
      (f) => f.type === 'persona_fallback' && f.data.message_id === message.id,
    );
    expect(frame).toMatchObject({
      id: event.event_id,
      data: { session_id: id, provider: 'openai', reason: 'http_500' },
    });
    expect(socket.frames.indexOf(frame!)).toBeLessThan(socket.frames.indexOf(reply));

    expect(await metric(/^smartsteps_persona_fallbacks_total\{provider="openai"\} /)).toBe(
      fallbacksBefore + 1,
    );
    // The failed request and its one retry.
    expect(
      await metric(
        /^smartsteps_persona_provider_failures_total\{provider="openai",reason="http_500"\} /,
      ),
    ).toBe(failuresBefore + 2);
  });

  it('falls back without re-streaming when the stream breaks after its first words', async () => {
    const { id, socket, events } = await watchedSession();
    llm.once({ kind: 'cut', pieces: 3 });

    const reply = await say(socket, id, 'Work has been really stressful lately.');
    const message = reply.data.message;
    // The broken stream's first words went out; the message itself is the local engine's.
    expect(deltasOf(socket, message.id).map((d) => d.data.index)).toEqual([0, 1, 2]);
    expect(message.metadata).toMatchObject({ engine: 'local', fallback_reason: 'stream_cut' });
    await events.next(
      (e: LifecycleEvent) =>
        e.event === 'persona.fallback' &&
        e.data.message_id === message.id &&
        e.data.reason === 'stream_cut',
      'the persona.fallback event',
    );
    await waitFor('the persona_fallback frame', () =>
      socket.frames.find((f) => f.type === 'persona_fallback' && f.data.message_id === message.id),
    );
  });
});
