/**
 * One streamed reply from a chat provider, with the limits a live session needs: a budget for the
 * whole reply, a shorter wait for the first token of each request, and bounded retries with
 * doubling back-off — but only while nothing has been streamed. Once text has gone out to the
 * sockets, a second request would stream a different text over it, so a failure then is final
 * (the caller falls back to the local engine instead).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode, ProviderError, retryableStatus } from './errors';
import { readSse } from './sse';
import type { Chat, ChatProtocol, Endpoint, ProviderName, Sampling } from './types';

export interface Limits {
  timeoutMs: number;
  firstTokenTimeoutMs: number;
  maxRetries: number;
  retryDelayMs: number;
}

export interface StreamOptions {
  /** Each piece of text as it arrives. Best effort: what it throws is ignored. */
  onDelta?(text: string): void;
  /** The caller's cancellation (the activity's): its abort is passed on as is, not as a failure. */
  signal?: AbortSignal;
  /** Every failed request, including those retried (for metrics and logs). */
  onFailedAttempt?(err: ProviderError, attempt: number, willRetry: boolean): void;
}

export interface ChatProvider {
  readonly name: ProviderName;
  readonly model: string;
  /** The whole reply's text; throws a ProviderError when the provider could not give one. */
  complete(chat: Chat, opts?: StreamOptions): Promise<string>;
}

/** Error bodies are read only for their error code; a larger one is not worth waiting for. */
const MAX_ERROR_BODY_CHARS = 16_384;

export function createChatProvider(
  protocol: ChatProtocol,
  endpoint: Endpoint,
  sampling: Sampling,
  limits: Limits,
): ChatProvider {
  return {
    name: protocol.name,
    model: endpoint.model,
    complete: (chat, opts = {}) => complete(protocol, endpoint, sampling, limits, chat, opts),
  };
}

async function complete(
  protocol: ChatProtocol,
  endpoint: Endpoint,
  sampling: Sampling,
  limits: Limits,
  chat: Chat,
  opts: StreamOptions,
): Promise<string> {
  const started = Date.now();
  const budget = AbortSignal.timeout(limits.timeoutMs);
  const cancelled = () => opts.signal?.aborted === true;
  let streamed = false;

  const attempt = async (): Promise<string> => {
    const firstToken = new AbortController();
    // Aborted when the attempt ends, however it ends, so no connection outlives it.
    const finished = new AbortController();
    const timer = setTimeout(() => firstToken.abort(), limits.firstTokenTimeoutMs);
    const signal = AbortSignal.any([
      budget,
      firstToken.signal,
      finished.signal,
      ...(opts.signal ? [opts.signal] : []),
    ]);
    let responded = false;
    const classify = (err: unknown): unknown => {
      if (err instanceof ProviderError || cancelled()) return err;
      if (budget.aborted)
        return new ProviderError(
          'timeout',
          `no complete reply within ${limits.timeoutMs} ms`,
          false,
        );
      if (firstToken.signal.aborted)
        return new ProviderError(
          'first_token_timeout',
          `no first token within ${limits.firstTokenTimeoutMs} ms`,
          true,
        );
      return responded
        ? new ProviderError('stream_cut', 'the connection broke during the stream', true)
        : new ProviderError('connect_error', 'the provider could not be reached', true);
    };

    try {
      const { url, headers, body } = protocol.request(chat, endpoint, sampling);
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal,
      });
      responded = true;
      if (res.status !== 200) throw await httpError(res);
      const type = res.headers.get('content-type') ?? '';
      if (!res.body || !type.includes('text/event-stream')) {
        throw new ProviderError(
          'malformed_stream',
          `expected text/event-stream, got ${type.split(';')[0] || 'no content type'}`,
          false,
        );
      }
      let text = '';
      for await (const piece of protocol.deltas(readSse(res.body))) {
        if (!streamed) {
          streamed = true;
          clearTimeout(timer);
        }
        text += piece;
        try {
          opts.onDelta?.(piece);
        } catch {
          // Deltas are a preview; the stored message is what counts.
        }
      }
      if (!text.trim()) throw new ProviderError('empty_reply', 'the reply has no text', false);
      return text;
    } catch (err) {
      throw classify(err);
    } finally {
      clearTimeout(timer);
      finished.abort();
    }
  };

  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      const delay = Math.max(limits.retryDelayMs * 2 ** (n - 1), err.retryAfterMs ?? 0);
      const left = limits.timeoutMs - (Date.now() - started);
      const retry =
        err.retryable && !streamed && n <= limits.maxRetries && !cancelled() && delay < left;
      opts.onFailedAttempt?.(err, n, retry);
      if (!retry) throw err;
      await sleep(delay, undefined, {
        signal: AbortSignal.any([budget, ...(opts.signal ? [opts.signal] : [])]),
      }).catch(() => {
        if (cancelled()) throw opts.signal!.reason;
        throw new ProviderError(
          'timeout',
          `no complete reply within ${limits.timeoutMs} ms`,
          false,
        );
      });
    }
  }
}

async function httpError(res: Response): Promise<ProviderError> {
  let code: string | undefined;
  try {
    code = errorCode(JSON.parse((await res.text()).slice(0, MAX_ERROR_BODY_CHARS)));
  } catch {
    // not JSON: the status says enough
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  return new ProviderError(
    `http_${res.status}`,
    `HTTP ${res.status}${code ? ` (${code})` : ''}`,
    retryableStatus(res.status),
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}
