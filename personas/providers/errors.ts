/**
 * Why a provider did not produce a reply, as a short code: it labels the failure metric, goes into
 * the `persona.fallback` event and the message's metadata, so it must never carry the provider's
 * own error text (OpenAI echoes part of a wrong key) or anything else from the request.
 */
export type FailureReason =
  /** The reply's whole budget (`llm.timeout_seconds`) ran out. */
  | 'timeout'
  /** One request produced no token within `llm.first_token_timeout_seconds`. */
  | 'first_token_timeout'
  /** No HTTP answer at all: refused, reset, DNS. */
  | 'connect_error'
  /** An HTTP status other than 200, e.g. `http_500`, `http_401`. */
  | `http_${number}`
  /** The provider reported an error inside the stream (Anthropic `error` event, OpenAI `error`). */
  | 'stream_error'
  /** Not server-sent events of the expected shape. */
  | 'malformed_stream'
  /** The stream ended before its end marker (`[DONE]`, `message_stop`). */
  | 'stream_cut'
  /** A well-formed stream with no words in it. */
  | 'empty_reply';

export class ProviderError extends Error {
  override name = 'ProviderError';

  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly retryable: boolean,
    /** From a 429's or 503's Retry-After header. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Statuses worth another try: the request was fine, the server was not (or was busy). */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * A provider's error code (`overloaded_error`, `model_not_found`) is worth logging and cannot hold
 * a secret if it looks like an identifier; anything else it said is dropped.
 */
export function errorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const err = (body as { error?: unknown }).error;
  if (typeof err !== 'object' || err === null) return undefined;
  for (const field of ['type', 'code'] as const) {
    const value = (err as Record<string, unknown>)[field];
    if (typeof value === 'string' && /^[a-z][a-z0-9_.-]{0,63}$/i.test(value)) return value;
  }
  return undefined;
}
