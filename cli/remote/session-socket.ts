/**
 * One session as the WebSocket shows it: the transcript in order, the persona typing, the ending
 * (with the summary the session.ended event carries). Commands wait on it with `until`, which
 * re-checks a condition on every frame instead of polling the REST API — messages arrive live,
 * and a poll would spend the caller's rate limit.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export interface Message {
  id: string;
  sender_type: 'client' | 'persona' | 'facilitator';
  content: string;
}

export interface Frame {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

export interface SessionEnding {
  how: 'completed' | 'cancelled';
  summary?: string;
  insights?: { type: string; text: string; confidence: number }[];
}

export interface SessionSocketHooks {
  onMessage?: (message: Message) => void;
  onTyping?: (senderType: string, isTyping: boolean) => void;
  /** An error frame that answers no request of ours. */
  onServerError?: (message: string) => void;
}

export class SessionSocket {
  readonly transcript: Message[] = [];
  ending: SessionEnding | undefined;
  private ws: WebSocket | undefined;
  private lost: Error | undefined;
  private readonly replies = new Map<string, Frame>();
  private readonly changes = new EventEmitter();

  constructor(
    readonly sessionId: string,
    private readonly hooks: SessionSocketHooks = {},
  ) {
    this.changes.setMaxListeners(0);
  }

  get ended(): SessionEnding['how'] | undefined {
    return this.ending?.how;
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

  /** Follows the session; joined before it starts, the opening line arrives live too. */
  async join(): Promise<void> {
    await this.request('join_session', { session_id: this.sessionId });
  }

  /** Sends a client message and answers with it as stored. */
  async send(content: string): Promise<Message> {
    const ack = await this.request('send_message', {
      session_id: this.sessionId,
      content,
      sender_type: 'client',
    });
    return ack.data.message as Message;
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

  /** Whether the persona has spoken since `messageId` (or at all, without one). */
  personaSpokeAfter(messageId?: string): boolean {
    const at = messageId === undefined ? -1 : this.transcript.findIndex((m) => m.id === messageId);
    if (messageId !== undefined && at < 0) return false;
    return this.transcript.slice(at + 1).some((m) => m.sender_type === 'persona');
  }

  /**
   * Resolves once `check` gives a value; rejects after the timeout (when one is given), when
   * `signal` aborts, or when the socket is lost before the session ended.
   */
  until<T>(
    check: () => T | undefined,
    what: string,
    timeoutMs?: number,
    signal?: AbortSignal,
  ): Promise<T> {
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
        } else if (signal?.aborted) {
          done();
          reject(new Error(`stopped while waiting for ${what}`));
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
        signal?.removeEventListener('abort', probe);
      };
      this.changes.on('change', probe);
      signal?.addEventListener('abort', probe);
      probe();
    });
  }

  /** Makes every `until` look again (for conditions outside the socket, like typed input). */
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
      else if (frame.type === 'error') this.hooks.onServerError?.(String(data.message));
    } else if (data.session_id !== this.sessionId) {
      return;
    } else if (frame.type === 'new_message') {
      const message = data.message as Message;
      if (!this.transcript.some((m) => m.id === message.id)) {
        this.transcript.push(message);
        this.hooks.onMessage?.(message);
      }
    } else if (frame.type === 'typing_indicator') {
      this.hooks.onTyping?.(String(data.sender_type), data.is_typing === true);
    } else if (frame.type === 'session_update') {
      const ending = data as Omit<SessionEnding, 'how'> & { event?: string };
      if (ending.event === 'session.ended') {
        this.ending = { how: 'completed', summary: ending.summary, insights: ending.insights };
      }
      if (ending.event === 'session.cancelled') this.ending = { how: 'cancelled' };
    }
    this.changed();
  }
}
