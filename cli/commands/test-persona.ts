/**
 * `smart-steps test-persona --persona ID`: the spec's interactive persona test. Against a running
 * stack it signs in, opens a session with the persona for the client "Persona Test" (created on
 * first use), follows the session over the WebSocket and sends every line typed — or piped, so it
 * can be scripted — as a client message, printing the persona's replies. `/end`, the end of input
 * (Ctrl-D) or Ctrl-C ends the session and prints the summary once the analysis has stored it.
 */
import * as readline from 'node:readline';
import { UsageError } from '../index';
import { Api, ApiError, apiBase, signIn, wsUrl } from '../remote/api';
import { SessionSocket, type Message } from '../remote/session-socket';
import { commandConfig, parseFlags, required } from './support';

const CLIENT_FIRST_NAME = 'Persona';
const CLIENT_LAST_NAME = 'Test';
/** How long a reply, the opening line or the end-of-session analysis may take. */
const REPLY_TIMEOUT_MS = 120_000;

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

  const api = new Api(base);
  await signIn(api, flags, config);

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
  await chat.connect(wsUrl(base), await api.freshBearer());
  try {
    // Joined before the start, so the opening line arrives live like every later message.
    await chat.join();
    await api.request('POST', `/api/v1/sessions/${sessionId}/start`);
    await converse(api, chat);
  } finally {
    await chat.close();
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
    const personas = await api.listAll<{ persona_id: string }>('/api/v1/personas', 'personas');
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

/** The session's socket, printing the conversation as it goes. */
class Chat extends SessionSocket {
  private typing = false;

  constructor(
    private readonly personaName: string,
    sessionId: string,
    private readonly tty: boolean,
  ) {
    super(sessionId, {
      onMessage: (message) => this.show(message),
      onTyping: (sender, on) => {
        if (sender === 'persona') this.showTyping(on);
      },
      onServerError: (message) => info(`error from the server: ${message}`),
    });
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
      const sent = (await chat.send(line)).id;
      try {
        await chat.until(
          () => (chat.ended || interrupted || chat.personaSpokeAfter(sent) ? true : undefined),
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
