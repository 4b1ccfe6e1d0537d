/** A WebSocket test client (the `ws` package) that records every frame for assertions. */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { waitFor } from './stack';

export type Frame = { type: string; id: string; data: any };

export function wsUrl(apiUrl: string, query = ''): string {
  return `${apiUrl.replace(/^http/, 'ws')}/ws${query}`;
}

export class TestSocket {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse((data as Buffer).toString('utf8')) as Frame);
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  /**
   * Opens a socket; `token` goes in the Authorization header unless `query` carries it;
   * `headers` are added to the upgrade (request signatures).
   */
  static async open(
    apiUrl: string,
    opts: {
      token?: string;
      query?: string;
      autoPong?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): Promise<TestSocket> {
    const ws = new WebSocket(wsUrl(apiUrl, opts.query), {
      headers: {
        ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      },
      autoPong: opts.autoPong ?? true,
    });
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return socket;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from `from` on) that matches. */
  next(match: (f: Frame) => boolean, what: string, timeoutMs = 15_000, from = 0): Promise<Frame> {
    return waitFor(what, () => this.frames.slice(from).find(match), timeoutMs);
  }

  /** Sends a frame with a fresh id and waits for its ack or error. */
  async request(type: string, data: unknown): Promise<Frame> {
    const id = `req_${randomBytes(6).toString('hex')}`;
    this.send({ type, id, data });
    return this.replyTo(id, `reply to ${type}`);
  }

  replyTo(requestId: string, what = `reply to ${requestId}`): Promise<Frame> {
    return this.next(
      (f) => (f.type === 'ack' || f.type === 'error') && f.data.request_id === requestId,
      what,
    );
  }

  messages(): Frame[] {
    return this.frames.filter((f) => f.type === 'new_message');
  }

  waitClosed(what = 'the socket to close', timeoutMs = 15_000) {
    return waitFor(what, () => this.closed, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.waitClosed();
  }
}
