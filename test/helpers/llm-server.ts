/**
 * A local stand-in for LLM providers on 127.0.0.1: it speaks OpenAI's chat-completions
 * streaming (`POST /v1/chat/completions`, so the base URL is `url + '/v1'`) and Anthropic's
 * Messages streaming (`POST /v1/messages`, base URL `url`), records every request, and fails
 * however a test tells it to: an HTTP status, a hang before or after the first token, a stream
 * cut mid-way, an error event, garbage, or an empty reply.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Protocol = 'openai' | 'anthropic';

export interface LlmRequest {
  protocol: Protocol;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export type Behaviour =
  /** Streams `text` (by default an echo of the last user message) in pieces of a few words. */
  | { kind: 'reply'; text?: string; pieceDelayMs?: number }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Streams the first `pieces` pieces, then goes silent with the connection open. */
  | { kind: 'stall'; pieces: number; text?: string }
  /** Streams the first `pieces` pieces, then drops the connection. */
  | { kind: 'cut'; pieces: number; text?: string }
  /** Streams the first `pieces` pieces, then an error event. */
  | { kind: 'error_event'; pieces: number; text?: string }
  | { kind: 'garbage' }
  | { kind: 'empty' };

export interface LlmServer {
  url: string;
  /** Base URL to configure for each protocol. */
  baseUrl(protocol: Protocol): string;
  requests: LlmRequest[];
  /** What every request gets from now on (after any queued with `once`). */
  behave(b: Behaviour): void;
  /** What the next request gets, once; several calls queue in order. */
  once(b: Behaviour): void;
  close(): Promise<void>;
}

export const DEFAULT_REPLY = (lastUser: string) =>
  `I hear you saying "${lastUser.slice(0, 60)}". What feels most important about that right now?`;

/** Words with their following space, so the pieces join back to the text exactly. */
export function piecesOf(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

export async function startLlmServer(): Promise<LlmServer> {
  const requests: LlmRequest[] = [];
  const queue: Behaviour[] = [];
  let standing: Behaviour = { kind: 'reply' };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const protocol: Protocol | undefined =
        req.url === '/v1/chat/completions'
          ? 'openai'
          : req.url === '/v1/messages'
            ? 'anthropic'
            : undefined;
      if (req.method !== 'POST' || !protocol) {
        res.writeHead(404).end();
        return;
      }
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      requests.push({ protocol, path: req.url!, headers: req.headers, body });
      void serve(protocol, body, queue.shift() ?? standing, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseUrl: (protocol) => (protocol === 'openai' ? `${url}/v1` : url),
    requests,
    behave: (b) => {
      standing = b;
    },
    once: (b) => {
      queue.push(b);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function lastUserText(protocol: Protocol, body: any): string {
  const messages: Array<{ role: string; content: string }> = body.messages ?? [];
  return messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

async function serve(
  protocol: Protocol,
  body: any,
  b: Behaviour,
  res: http.ServerResponse,
): Promise<void> {
  if (b.kind === 'status') {
    res
      .writeHead(b.status, { 'Content-Type': 'application/json', ...b.headers })
      .end(JSON.stringify(b.body ?? { error: { type: 'server_error', message: 'boom' } }));
    return;
  }
  if (b.kind === 'hang') return; // the test's close() ends it
  const wire = protocol === 'openai' ? openAiWire(body.model) : anthropicWire(body.model);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const send = (frames: string[]) => {
    for (const f of frames) res.write(f);
  };
  if (b.kind === 'garbage') {
    res.end('data: this is not json\n\n');
    return;
  }
  send(wire.start());
  if (b.kind === 'empty') {
    send(wire.end());
    res.end();
    return;
  }
  const text = ('text' in b && b.text) || DEFAULT_REPLY(lastUserText(protocol, body));
  const pieces = piecesOf(text);
  const count = b.kind === 'reply' ? pieces.length : Math.min(b.pieces, pieces.length);
  const delay = b.kind === 'reply' ? (b.pieceDelayMs ?? 5) : 5;
  for (const piece of pieces.slice(0, count)) {
    if (res.destroyed) return;
    send(wire.delta(piece));
    await new Promise((r) => setTimeout(r, delay)); // paces the stream, as a model would
  }
  switch (b.kind) {
    case 'reply':
      send(wire.end());
      res.end();
      return;
    case 'cut':
      res.destroy();
      return;
    case 'error_event':
      res.end(wire.error());
      return;
    case 'stall':
      return; // left open: the client's timeout ends it
  }
}

const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

function openAiWire(model: string) {
  const chunk = (delta: object, finish: string | null = null) =>
    sse({
      id: 'chatcmpl-test',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  return {
    start: () => [chunk({ role: 'assistant', content: '' })],
    delta: (text: string) => [chunk({ content: text })],
    end: () => [chunk({}, 'stop'), sse('[DONE]')],
    error: () => sse({ error: { type: 'server_error', message: 'the model fell over' } }),
  };
}

function anthropicWire(model: string) {
  const evt = (type: string, fields: object = {}) => sse({ type, ...fields }, type);
  return {
    start: () => [
      evt('message_start', {
        message: {
          id: 'msg_test',
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          usage: { input_tokens: 10, output_tokens: 1 },
        },
      }),
      evt('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      evt('ping'),
    ],
    delta: (text: string) => [
      evt('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
    ],
    end: () => [
      evt('content_block_stop', { index: 0 }),
      evt('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 12 } }),
      evt('message_stop'),
    ],
    error: () => evt('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
  };
}
