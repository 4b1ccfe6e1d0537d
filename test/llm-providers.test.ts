import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigError, loadConfig, llmApiKey } from '../lib/config';
import { createPersonaMetrics } from '../lib/metrics';
import {
  loadPersonaDefinitions,
  PersonaRegistry,
  type Persona,
  type ReplyContext,
} from '../personas';
import { createLocalEngine } from '../personas/engine/local';
import { createLlmEngine } from '../personas/engine/llm';
import { buildChat, ProviderError, providerRoute, type ChatProvider } from '../personas/providers';
import { readSse, type SseEvent } from '../personas/providers/sse';
import { piecesOf, startLlmServer, type LlmServer, type Protocol } from './helpers/llm-server';

const registry = new PersonaRegistry(loadPersonaDefinitions());
const morgan = registry.get('dr_morgan_hayes') as Persona;
const SECRET = 'sk-test-0123456789abcdefSECRET';

const context = (over: Partial<ReplyContext> = {}): ReplyContext => ({
  session_id: 's_test',
  persona: morgan,
  goals: ['reduce anxiety before presentations'],
  kind: 'response',
  persona_turn: 1,
  recent_turns: [
    { sender_type: 'persona', content: 'Hello, I am Dr. Morgan Hayes, an AI persona.' },
    { sender_type: 'client', content: 'I keep worrying about my talk on Friday.' },
  ],
  wrap_up: false,
  minutes_left: 25,
  ...over,
});

/** Settings small enough that every failure shows within a second or two. */
function providerFor(
  server: LlmServer,
  protocol: Protocol,
  over: Record<string, unknown> = {},
): ChatProvider {
  const config = loadConfig({
    argv: [],
    env: {},
    overrides: {
      'llm.provider': protocol,
      [`llm.${protocol}.base_url`]: server.baseUrl(protocol),
      [`llm.${protocol}.model`]: 'test-model',
      [`llm.${protocol}.api_key`]: SECRET,
      'llm.timeout_seconds': 3,
      'llm.first_token_timeout_seconds': 0.5,
      'llm.max_retries': 2,
      'llm.retry_delay_seconds': 0.02,
      ...over,
    },
  });
  return providerRoute(config)('dr_morgan_hayes')!;
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected the provider to fail');
}

describe('server-sent events', () => {
  async function parse(...chunks: string[]): Promise<SseEvent[]> {
    async function* body() {
      for (const c of chunks) yield new TextEncoder().encode(c);
    }
    const out: SseEvent[] = [];
    for await (const e of readSse(body())) out.push(e);
    return out;
  }

  it('reads events split anywhere across chunks, with any line ending, comments and multi-line data', async () => {
    expect(
      await parse(
        ': keep-alive\n\nevent: a\nda',
        'ta: one\r\ndata:two\r',
        '\n\r\ndata: {"x":1}\r\r',
        'data: cut off without a blank line',
      ),
    ).toEqual([
      { event: 'a', data: 'one\ntwo' },
      { event: 'message', data: '{"x":1}' },
    ]);
  });
});

describe('the prompt', () => {
  it("makes the persona's definition the system prompt, saying it is an AI and never human", () => {
    const { system } = buildChat(context());
    expect(system).toContain('You are Dr. Morgan Hayes, an AI persona');
    expect(system).toMatch(/Never claim or imply to be human/);
    expect(system).toContain('cognitive behavioral');
    expect(system).toContain('cognitive restructuring, behavioral activation');
    expect(system).toContain(morgan.background);
    expect(system).toContain('anxiety, depression');
    expect(system).toMatch(/formal, gently guiding, very warm/);
    expect(system).toContain('The goals for this session: reduce anxiety before presentations.');
    expect(system).toContain('About 25 minute(s) of the session remain.');
  });

  it('tells the model what the risk screen heard below the crisis level, and nothing otherwise', () => {
    const flagged = buildChat(
      context({ risk: { level: 'medium', categories: ['self_harm'] } }),
    ).system;
    expect(flagged).toContain('The safety screen noted possible self harm (medium)');
    expect(buildChat(context()).system).not.toContain('safety screen');
  });

  it('turns recent turns into alternating messages that start and end with the user', () => {
    const { messages } = buildChat(
      context({
        recent_turns: [
          { sender_type: 'persona', content: 'Hello.' },
          { sender_type: 'client', content: 'Hi.' },
          { sender_type: 'facilitator', content: 'Please explore sleep.' },
          { sender_type: 'persona', content: 'How have you been sleeping?' },
        ],
      }),
    );
    expect(messages).toEqual([
      { role: 'user', content: '[The session began.]' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Hi.\n\n[Facilitator] Please explore sleep.' },
      { role: 'assistant', content: 'How have you been sleeping?' },
      { role: 'user', content: '[Please continue.]' },
    ]);
  });

  it('cues an opening and a wrap-up', () => {
    const opening = buildChat(context({ kind: 'opening', recent_turns: [] }));
    expect(opening.messages).toEqual([
      { role: 'user', content: '[The session has started. Please open it.]' },
    ]);
    expect(opening.system).toMatch(/introduce yourself as an AI persona/);
    expect(buildChat(context({ kind: 'wrap_up' })).system).toMatch(/nearly over/);
  });
});

describe.each<Protocol>(['openai', 'anthropic'])('the %s provider', (protocol) => {
  let server: LlmServer;
  beforeAll(async () => {
    server = await startLlmServer();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.behave({ kind: 'reply' });
  });

  it('streams the reply piece by piece; the text is the deltas joined', async () => {
    const text = 'It sounds like Friday is weighing on you. What do you picture happening?';
    server.behave({ kind: 'reply', text });
    const deltas: string[] = [];
    const reply = await providerFor(server, protocol).complete(buildChat(context()), {
      onDelta: (d) => deltas.push(d),
    });
    expect(reply).toBe(text);
    expect(deltas).toEqual(piecesOf(text));
    expect(deltas.length).toBeGreaterThan(5);

    const [req] = server.requests;
    expect(server.requests).toHaveLength(1);
    expect(req!.body).toMatchObject({ model: 'test-model', stream: true, max_tokens: 400 });
    const system =
      protocol === 'openai'
        ? (req!.body.messages[0] as { role: string; content: string })
        : { role: 'system', content: req!.body.system as string };
    expect(system.role).toBe('system');
    expect(system.content).toContain('Dr. Morgan Hayes, an AI persona');
    expect(system.content).toContain('reduce anxiety before presentations');
    expect(JSON.stringify(req!.body.messages)).toContain(
      'I keep worrying about my talk on Friday.',
    );
    if (protocol === 'openai') {
      expect(req!.headers.authorization).toBe(`Bearer ${SECRET}`);
    } else {
      expect(req!.headers['x-api-key']).toBe(SECRET);
      expect(req!.headers['anthropic-version']).toBe('2023-06-01');
      expect(req!.body.messages[0].role).toBe('user');
    }
  });

  it('retries a server error that came before any token, with back-off, and then succeeds', async () => {
    server.once({ kind: 'status', status: 500 });
    server.once({ kind: 'status', status: 429, headers: { 'Retry-After': '0' } });
    const failed: string[] = [];
    const reply = await providerFor(server, protocol).complete(buildChat(context()), {
      onFailedAttempt: (err, attempt, retry) => failed.push(`${attempt}:${err.reason}:${retry}`),
    });
    expect(reply).toMatch(/^I hear you saying/);
    expect(server.requests).toHaveLength(3);
    expect(failed).toEqual(['1:http_500:true', '2:http_429:true']);
  });

  it('gives up after llm.max_retries, naming the status but not what the server said', async () => {
    server.behave({
      kind: 'status',
      status: 503,
      body: { error: { type: 'overloaded_error', message: `bad key ${SECRET}` } },
    });
    const err = await failure(providerFor(server, protocol).complete(buildChat(context())));
    expect(err.reason).toBe('http_503');
    expect(err.message).toBe('HTTP 503 (overloaded_error)');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a request the server refuses (401)', async () => {
    server.behave({ kind: 'status', status: 401 });
    const err = await failure(providerFor(server, protocol).complete(buildChat(context())));
    expect(err.reason).toBe('http_401');
    expect(server.requests).toHaveLength(1);
  });

  it('abandons and retries a request that gives no first token in time', async () => {
    server.behave({ kind: 'hang' });
    const started = Date.now();
    const err = await failure(
      providerFor(server, protocol, { 'llm.max_retries': 1 }).complete(buildChat(context())),
    );
    expect(err.reason).toBe('first_token_timeout');
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('stops at the reply budget, without retrying once tokens have gone out', async () => {
    server.behave({ kind: 'stall', pieces: 2 });
    const deltas: string[] = [];
    const err = await failure(
      providerFor(server, protocol, { 'llm.timeout_seconds': 1 }).complete(buildChat(context()), {
        onDelta: (d) => deltas.push(d),
      }),
    );
    expect(err.reason).toBe('timeout');
    expect(deltas).toHaveLength(2);
    expect(server.requests).toHaveLength(1);
  });

  it('fails a stream cut mid-way without retrying, since its first half went out', async () => {
    server.behave({ kind: 'cut', pieces: 3 });
    const deltas: string[] = [];
    const err = await failure(
      providerFor(server, protocol).complete(buildChat(context()), {
        onDelta: (d) => deltas.push(d),
      }),
    );
    expect(err.reason).toBe('stream_cut');
    expect(deltas).toHaveLength(3);
    expect(server.requests).toHaveLength(1);
  });

  it("fails on the provider's error event, a malformed stream and an empty reply", async () => {
    server.behave({ kind: 'error_event', pieces: 1 });
    expect(
      (await failure(providerFor(server, protocol).complete(buildChat(context())))).reason,
    ).toBe('stream_error');
    server.behave({ kind: 'garbage' });
    expect(
      (await failure(providerFor(server, protocol).complete(buildChat(context())))).reason,
    ).toBe('malformed_stream');
    server.behave({ kind: 'empty' });
    expect(
      (await failure(providerFor(server, protocol).complete(buildChat(context())))).reason,
    ).toBe('empty_reply');
  });

  it('reports a server that is not there as a connection error', async () => {
    const gone = await startLlmServer();
    await gone.close();
    const err = await failure(
      providerFor(gone, protocol, { 'llm.max_retries': 0 }).complete(buildChat(context())),
    );
    expect(err.reason).toBe('connect_error');
  });
});

describe('the LLM engine', () => {
  let server: LlmServer;
  beforeAll(async () => {
    server = await startLlmServer();
  });
  afterAll(() => server.close());

  /** A logger whose output the test reads, to check that no key is ever written. */
  function capturingLogger() {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return { log: pino({ level: 'debug' }, sink), lines };
  }

  function engineFor(over: Record<string, unknown> = {}) {
    const config = loadConfig({
      argv: [],
      env: {},
      overrides: {
        'llm.provider': 'openai',
        'llm.openai.base_url': server.baseUrl('openai'),
        'llm.openai.model': 'test-model',
        'llm.openai.api_key': SECRET,
        'llm.first_token_timeout_seconds': 0.5,
        'llm.timeout_seconds': 3,
        'llm.max_retries': 1,
        'llm.retry_delay_seconds': 0.02,
        ...over,
      },
    });
    const metrics = createPersonaMetrics();
    const { log, lines } = capturingLogger();
    const engine = createLlmEngine({
      local: createLocalEngine(),
      route: providerRoute(config),
      name: 'openai',
      metrics,
      log,
    });
    return { engine, metrics, lines };
  }

  const value = async (
    metric: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> },
    labels: object,
  ) =>
    (await metric.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))
      ?.value ?? 0;

  it("answers with the provider's words and says which model wrote them", async () => {
    server.behave({ kind: 'reply', text: '  Tell me more about Friday.  ' });
    const { engine, metrics } = engineFor();
    const deltas: string[] = [];
    const reply = await engine.reply(context(), { onDelta: (d) => deltas.push(d) });
    expect(reply).toEqual({
      content: 'Tell me more about Friday.',
      metadata: { engine: 'openai', model: 'test-model' },
    });
    expect(deltas.join('')).toBe('  Tell me more about Friday.  ');
    const histogram = await metrics.replySeconds.get();
    expect(
      histogram.values.find(
        (v) =>
          v.metricName === 'smartsteps_persona_reply_seconds_count' && v.labels.engine === 'openai',
      )?.value,
    ).toBe(1);
  });

  it('lets the local engine answer when the provider fails, counting it and logging no secret', async () => {
    server.behave({
      kind: 'status',
      status: 500,
      body: { error: { message: `Incorrect API key provided: ${SECRET}` } },
    });
    const { engine, metrics, lines } = engineFor();
    const reply = await engine.reply(context());
    expect(reply.fallback).toEqual({ provider: 'openai', model: 'test-model', reason: 'http_500' });
    expect(reply.metadata).toMatchObject({
      engine: 'local',
      fallback_from: 'openai',
      fallback_reason: 'http_500',
    });
    expect(reply.content).toBe((await createLocalEngine().reply(context())).content);
    expect(await value(metrics.fallbacks, { provider: 'openai' })).toBe(1);
    expect(await value(metrics.providerFailures, { provider: 'openai', reason: 'http_500' })).toBe(
      2,
    );
    expect(lines.join('')).toMatch(/the local engine answers/);
    expect(lines.join('')).not.toContain(SECRET);
  });

  it('keeps personas configured as local on the local engine, with no request made', async () => {
    server.requests.length = 0;
    const { engine } = engineFor({ 'llm.personas': { dr_morgan_hayes: { provider: 'local' } } });
    const reply = await engine.reply(context());
    expect(reply.metadata).toMatchObject({ engine: 'local' });
    expect(reply.fallback).toBeUndefined();
    expect(server.requests).toHaveLength(0);
  });
});

describe('LLM configuration', () => {
  it('routes a persona to its own provider and model, and the others to llm.provider', () => {
    const config = loadConfig({
      argv: [],
      env: { SMARTSTEPS_LLM__ANTHROPIC__API_KEY: SECRET },
      overrides: {
        'llm.provider': 'openai',
        'llm.personas': { sam_taylor: { provider: 'anthropic', model: 'claude-test' } },
      },
    });
    const route = providerRoute(config);
    expect(route('dr_morgan_hayes')).toMatchObject({ name: 'openai', model: 'gpt-4o-mini' });
    expect(route('sam_taylor')).toMatchObject({ name: 'anthropic', model: 'claude-test' });
  });

  it("refuses to start Anthropic without a key, and never sends a vendor's key elsewhere", () => {
    const anthropic = loadConfig({ argv: [], env: {}, overrides: { 'llm.provider': 'anthropic' } });
    expect(() => providerRoute(anthropic, {})).toThrow(ConfigError);
    expect(() => providerRoute(anthropic, {})).toThrow(/llm\.anthropic\.api_key: required/);
    expect(llmApiKey(anthropic, 'anthropic', { ANTHROPIC_API_KEY: SECRET })).toBe(SECRET);

    const ollama = loadConfig({
      argv: [],
      env: {},
      overrides: { 'llm.provider': 'openai', 'llm.openai.base_url': 'http://127.0.0.1:11434/v1' },
    });
    expect(llmApiKey(ollama, 'openai', { OPENAI_API_KEY: SECRET })).toBeUndefined();
  });

  it('reads a key from a file, and never echoes a bad value of a key that may hold one', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ss-llm-')), 'key');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    const config = loadConfig({
      argv: [],
      env: {},
      overrides: { 'llm.openai.api_key_file': file },
    });
    expect(llmApiKey(config, 'openai', {})).toBe(SECRET);
    // A bad value of a key that may hold a credential is named, never echoed.
    expect(() =>
      loadConfig({
        argv: [],
        env: {},
        overrides: { 'llm.openai.base_url': `ftp://user:${SECRET}@llm.example` },
      }),
    ).toThrow(/^invalid configuration: llm\.openai\.base_url: must be an http\(s\) URL$/);
  });
});
