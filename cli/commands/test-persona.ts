/**
 * `smart-steps test-persona --persona ID`: the spec's interactive persona test. Against a running
 * stack it signs in, opens a session with the persona for the client "Persona Test" (created on
 * first use), follows the session over the WebSocket and sends every line typed — or piped, so it
 * can be scripted — as a client message, printing the persona's replies. `/end`, the end of input
 * (Ctrl-D) or Ctrl-C ends the session and prints the summary once the analysis has stored it.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { readApiKeyFromEnv, readPasswordFromEnv, type Config } from '../../lib/config';
import { UsageError } from '../index';
import { commandConfig, parseFlags, promptHidden, required } from './support';

const CLIENT_FIRST_NAME = 'Persona';
const CLIENT_LAST_NAME = 'Test';
/** How long a reply, the opening line or the end-of-session analysis may take. */
const REPLY_TIMEOUT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 30_000;

interface Message {
  id: string;
  sender_type: 'client' | 'persona' | 'facilitator';
  content: string;
}

interface Frame {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

interface SessionView {
  status: string;
  messages?: unknown[];
  summary?: string;
  insights?: { type: string; text: string; confidence: number }[];
}

export async function runTestPersona(args: string[]): Promise<void> {
  const flags = parseFlags(args, {
    persona: { type: 'string' },
    url: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    'api-key': { type: 'string' },
    duration: { type: 'string' },
  });
  const personaId = required(flags.persona, 'persona');
  const config = commandConfig(args);
  const base = apiBase(flags.url, config);
  const duration = flags.duration === undefined ? 45 : Number(flags.duration);
  if (!Number.isInteger(duration) || duration < 1 || duration > 480) {
    throw new UsageError('--duration must be a whole number of minutes between 1 and 480');
  }

  // Flags before the environment; an API key before a password.
  const apiKey =
    flags['api-key'] ?? (flags.password === undefined ? readApiKeyFromEnv() : undefined);
  const api = new Api(base);
  if (apiKey !== undefined) {
    api.useApiKey(apiKey);
  } else {
    const username = flags.username ?? 'admin';
    await api.login(username, await loginPassword(flags.password, username, config));
  }

  const persona = await findPersona(api, personaId);
  const clientId = await personaTestClient(api);
  const session = await api.request<{ session_id: string }>('POST', '/api/v1/sessions', {
    client_id: clientId,
    persona_id: personaId,
    duration_minutes: duration,
    metadata: { source: 'smart-steps test-persona' },
  });
  const sessionId = session.session_id;
  info(`session ${sessionId} with ${persona.name}; type a message, /end to finish`);

  const chat = new Chat(persona.name, sessionId, !!process.stdout.isTTY);
  await chat.connect(`${base.replace(/^http/, 'ws')}/ws`, api.bearer);
  try {
    // Joined before the start, so the opening line arrives live like every later message.
    await chat.request('join_session', { session_id: sessionId });
    await api.request('POST', `/api/v1/sessions/${sessionId}/start`);
    await converse(api, chat);
  } finally {
    await chat.close();
  }
}

/** `--url`, else the configured server address (a wildcard listen address means this machine). */
function apiBase(flag: string | undefined, config: Config): string {
  let raw = flag;
  if (raw === undefined) {
    const host = ['0.0.0.0', '::', ''].includes(config.server.host)
      ? '127.0.0.1'
      : config.server.host;
    raw = `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL, got '${raw}'`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/**
 * `--password`, else SMARTSTEPS_PASSWORD, else (for `admin`) the password `npm start` wrote to
 * `<data_dir>/secrets/admin-password`, else a prompt without echo at a terminal.
 */
async function loginPassword(
  flag: string | undefined,
  username: string,
  config: Config,
): Promise<string> {
  if (flag !== undefined) return flag;
  const fromEnv = readPasswordFromEnv();
  if (fromEnv !== undefined) return fromEnv;
  if (username === 'admin') {
    const file = devStackPasswordFile(config);
    if (file) return readFileSync(file, 'utf8').trim();
  }
  if (!process.stdin.isTTY) {
    throw new UsageError(
      'no password given: use --password, set SMARTSTEPS_PASSWORD, use --api-key, or run in a terminal to be asked',
    );
  }
  return promptHidden(`Password for ${username}: `);
}

/** The dev stack's admin password file: under the working directory or this checkout. */
function devStackPasswordFile(config: Config): string | undefined {
  const roots = [process.cwd()];
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      roots.push(dir);
      break;
    }
  }
  return roots
    .map((root) => path.resolve(root, config.dev_stack.data_dir, 'secrets', 'admin-password'))
    .find((file) => existsSync(file));
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** REST calls with the caller's credentials; an expired access token is refreshed once. */
class Api {
  private token = '';
  private refreshToken: string | undefined;

  constructor(readonly base: string) {}

  get bearer(): string {
    return this.token;
  }

  useApiKey(key: string): void {
    this.token = key;
  }

  async login(username: string, password: string): Promise<void> {
    try {
      const tokens = await this.request<{ token: string; refresh_token: string }>(
        'POST',
        '/api/v1/auth/login',
        { username, password },
        false,
      );
      this.token = tokens.token;
      this.refreshToken = tokens.refresh_token;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        throw new Error(`login as '${username}' at ${this.base} failed: ${err.message}`);
      }
      throw err;
    }
  }

  async request<T = unknown>(
    method: string,
    route: string,
    body?: unknown,
    retry = true,
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${route}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new Error(
        `cannot reach the Smart Steps API at ${this.base} (${why}); is the stack running? (npm start)`,
      );
    }
    if (res.status === 401 && retry && this.refreshToken) {
      const tokens = await this.request<{ token: string; refresh_token: string }>(
        'POST',
        '/api/v1/auth/refresh',
        { refresh_token: this.refreshToken },
        false,
      );
      this.token = tokens.token;
      this.refreshToken = tokens.refresh_token;
      return this.request<T>(method, route, body, false);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const envelope = parsed as { error?: { message?: string } } | undefined;
      const message = envelope?.error?.message ?? (text.slice(0, 200) || res.statusText);
      throw new ApiError(res.status, `${method} ${route}: ${res.status} ${message}`);
    }
    return parsed as T;
  }
}

async function findPersona(api: Api, personaId: string): Promise<{ name: string }> {
  try {
    return await api.request<{ name: string }>(
      'GET',
      `/api/v1/personas/${encodeURIComponent(personaId)}`,
    );
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 422)) throw err;
    const { personas } = await api.request<{ personas: { persona_id: string }[] }>(
      'GET',
      '/api/v1/personas',
    );
    throw new Error(
      `unknown persona '${personaId}'; available: ${personas.map((p) => p.persona_id).join(', ')}`,
    );
  }
}

/** The client "Persona Test", created the first time. */
async function personaTestClient(api: Api): Promise<string> {
  const { clients } = await api.request<{
    clients: { client_id: string; first_name: string; last_name: string }[];
  }>('GET', `/api/v1/clients?search=${CLIENT_FIRST_NAME}&limit=100`);
  const existing = clients.find(
    (c) => c.first_name === CLIENT_FIRST_NAME && c.last_name === CLIENT_LAST_NAME,
  );
  if (existing) return existing.client_id;
  const created = await api.request<{ client_id: string }>('POST', '/api/v1/clients', {
    first_name: CLIENT_FIRST_NAME,
    last_name: CLIENT_LAST_NAME,
  });
  return created.client_id;
}

function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The conversation as the socket shows it: the transcript in order, typing, the ending. */
class Chat {
  readonly transcript: Message[] = [];
  ended: 'completed' | 'cancelled' | undefined;
  private ws: WebSocket | undefined;
  private lost: Error | undefined;
  private typing = false;
  private readonly replies = new Map<string, Frame>();
  private readonly changes = new EventEmitter();

  constructor(
    private readonly personaName: string,
    readonly sessionId: string,
    private readonly tty: boolean,
  ) {
    this.changes.setMaxListeners(0);
  }

  async connect(url: string, token: string): Promise<void> {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      try {
        this.onFrame(JSON.parse((data as Buffer).toString('utf8')) as Frame);
      } catch {
        // not a frame of the protocol: ignored
      }
    });
    ws.on('close', (code, reason) => {
      if (!this.lost) {
        this.lost = new Error(
          `the WebSocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`,
        );
      }
      this.changed();
    });
    ws.on('error', (err) => {
      this.lost ??= new Error(`WebSocket ${url}: ${err.message}`);
      this.changed();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => reject(this.lost ?? new Error('the WebSocket closed')));
    });
  }

  /** Sends a frame and waits for its ack; an error frame rejects. */
  async request(type: string, data: Record<string, unknown>): Promise<Frame> {
    const id = `cli_${randomBytes(6).toString('hex')}`;
    this.ws!.send(JSON.stringify({ type, id, data }));
    const reply = await this.until(() => this.replies.get(id), `the answer to ${type}`);
    this.replies.delete(id);
    if (reply.type === 'error') {
      const error = reply.data as { code?: string; message?: string };
      throw new Error(`${type}: ${error.code ?? 'error'}: ${error.message ?? ''}`);
    }
    return reply;
  }

  /**
   * Resolves once `check` gives a value; rejects after the timeout (when one is given) or when the
   * socket is lost before the session ended.
   */
  until<T>(check: () => T | undefined, what: string, timeoutMs?: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const probe = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (this.lost && !this.ended) {
          done();
          reject(new Error(`${this.lost.message} while waiting for ${what}`));
        }
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              done();
              reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
            }, timeoutMs);
      const done = () => {
        if (timer) clearTimeout(timer);
        this.changes.off('change', probe);
      };
      this.changes.on('change', probe);
      probe();
    });
  }

  changed(): void {
    this.changes.emit('change');
  }

  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => ws.terminate(), 2_000);
      force.unref();
      ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      ws.close(1000);
    });
  }

  private onFrame(frame: Frame): void {
    const data = frame.data ?? {};
    if (frame.type === 'ack' || frame.type === 'error') {
      const requestId = data.request_id;
      if (typeof requestId === 'string') this.replies.set(requestId, frame);
      else if (frame.type === 'error') info(`error from the server: ${String(data.message)}`);
    } else if (data.session_id !== this.sessionId) {
      return;
    } else if (frame.type === 'new_message') {
      const message = data.message as Message;
      if (!this.transcript.some((m) => m.id === message.id)) {
        this.transcript.push(message);
        this.show(message);
      }
    } else if (frame.type === 'typing_indicator') {
      if (data.sender_type === 'persona') this.showTyping(data.is_typing === true);
    } else if (frame.type === 'session_update') {
      if (data.event === 'session.ended') this.ended = 'completed';
      if (data.event === 'session.cancelled') this.ended = 'cancelled';
    }
    this.changed();
  }

  private show(message: Message): void {
    this.showTyping(false);
    if (message.sender_type === 'persona') {
      process.stdout.write(`${this.personaName}: ${message.content}\n`);
    } else if (message.sender_type === 'facilitator') {
      process.stdout.write(`Facilitator: ${message.content}\n`);
    } else if (!this.tty) {
      // At a terminal the line typed is on screen already; a transcript of piped input needs it.
      process.stdout.write(`You: ${message.content}\n`);
    }
  }

  /** At a terminal, "… is typing" on a line of its own, cleared when the message lands. */
  private showTyping(on: boolean): void {
    if (!this.tty || on === this.typing) return;
    this.typing = on;
    process.stdout.write(on ? `\r\u001b[K${this.personaName} is typing…` : '\r\u001b[K');
  }
}

/** Reads lines until /end, end of input, Ctrl-C or the session ending by itself. */
async function converse(api: Api, chat: Chat): Promise<void> {
  const tty = !!process.stdin.isTTY;
  const rl = readline.createInterface({
    input: process.stdin,
    output: tty ? process.stdout : undefined,
    terminal: tty,
  });
  rl.setPrompt('You: ');
  const lines: string[] = [];
  let eof = false;
  let interrupted = false;
  rl.on('line', (line) => {
    lines.push(line);
    chat.changed();
  });
  rl.on('close', () => {
    eof = true;
    chat.changed();
  });
  const onInterrupt = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: leave without waiting for the summary
    interrupted = true;
    info('\nending the session (Ctrl-C again to leave at once)');
    chat.changed();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);

  const personaMessages = () => chat.transcript.filter((m) => m.sender_type === 'persona').length;
  try {
    await chat.until(
      () => (personaMessages() > 0 || chat.ended || interrupted ? true : undefined),
      "the persona's opening line",
      REPLY_TIMEOUT_MS,
    );
    for (;;) {
      if (lines.length === 0 && !eof && !interrupted && !chat.ended && tty) rl.prompt();
      const step = await chat.until<'line' | 'end' | 'ended'>(
        () =>
          chat.ended
            ? 'ended'
            : interrupted
              ? 'end'
              : lines.length > 0
                ? 'line'
                : eof
                  ? 'end'
                  : undefined,
        'input',
      );
      if (step === 'ended') break;
      if (step === 'end') {
        await endSession(api, chat);
        break;
      }
      const line = lines.shift()!.trim();
      if (line === '') continue;
      if (line === '/end' || line === '/quit') {
        await endSession(api, chat);
        break;
      }
      if (line === '/help') {
        info('type a message and press Enter; /end ends the session and shows its summary');
        continue;
      }
      const ack = await chat.request('send_message', {
        session_id: chat.sessionId,
        content: line,
        sender_type: 'client',
      });
      const sent = (ack.data.message as Message).id;
      try {
        await chat.until(
          () => {
            if (chat.ended || interrupted) return true;
            const at = chat.transcript.findIndex((m) => m.id === sent);
            return at >= 0 && chat.transcript.slice(at + 1).some((m) => m.sender_type === 'persona')
              ? true
              : undefined;
          },
          'the reply',
          REPLY_TIMEOUT_MS,
        );
      } catch (err) {
        if (chat.ended) throw err;
        info(`no reply yet (${(err as Error).message}); carrying on`);
      }
    }
    await printOutcome(api, chat);
  } finally {
    rl.off('SIGINT', onInterrupt);
    process.off('SIGINT', onInterrupt);
    rl.close();
    process.stdin.destroy();
  }
}

async function endSession(api: Api, chat: Chat): Promise<void> {
  if (chat.ended) return;
  info('ending the session…');
  try {
    await api.request('POST', `/api/v1/sessions/${chat.sessionId}/end`);
  } catch (err) {
    // Already ended by its timer or someone else: the session_update says how.
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
}

async function printOutcome(api: Api, chat: Chat): Promise<void> {
  const how = await chat.until(() => chat.ended, 'the end of the session', REPLY_TIMEOUT_MS);
  const session = await api.request<SessionView>('GET', `/api/v1/sessions/${chat.sessionId}`);
  if (how === 'cancelled') {
    process.stdout.write(`Session cancelled.\n`);
    return;
  }
  process.stdout.write(`\nSession ended (${session.messages?.length ?? '?'} messages).\n`);
  process.stdout.write(`Summary: ${session.summary ?? '(none stored)'}\n`);
  if (session.insights?.length) {
    process.stdout.write('Insights:\n');
    for (const i of session.insights) {
      process.stdout.write(`  - ${i.type}: ${i.text} (confidence ${i.confidence.toFixed(2)})\n`);
    }
  }
}
