import type { Middleware } from 'koa';
import { AppError, AuthenticationError, RateLimitedError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { loggablePath } from '../routes/codec';

export interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    /** Always present, empty when there is nothing to add: the spec's envelope has it. */
    details: Record<string, unknown>;
    request_id: string;
  };
}

/**
 * The one place errors become responses. Client errors keep their message and details;
 * everything else is logged with its stack and answered with a generic 500, so no internals
 * leave the server. Unknown routes get the same envelope as any other 404.
 */
export function errorEnvelope(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = envelope(
          'resource_not_found',
          `No route for ${ctx.method} ${ctx.path}`,
          ctx.state.requestId as string,
        );
      }
    } catch (err) {
      const requestId = ctx.state.requestId as string;
      if (err instanceof AppError) {
        ctx.status = err.status;
        ctx.body = envelope(err.code, err.message, requestId, err.details);
        if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfterSeconds));
        if (err instanceof AuthenticationError) ctx.set('WWW-Authenticate', 'Bearer');
        if (err.status >= 500) log.warn({ err, request_id: requestId }, err.message);
        return;
      }
      const status = httpStatusOf(err);
      if (status && status < 500) {
        // Errors raised by Koa itself (ctx.throw, body too large, …) that are the client's doing.
        ctx.status = status;
        ctx.body = envelope(
          HTTP_CODES[status] ?? 'invalid_request',
          (err as Error).message,
          requestId,
        );
        return;
      }
      log.error(
        { err, request_id: requestId, method: ctx.method, path: loggablePath(ctx.path) },
        'unhandled error',
      );
      ctx.status = 500;
      ctx.body = envelope('internal_error', 'An internal error occurred', requestId);
    }
  };
}

export function envelope(
  code: string,
  message: string,
  requestId: string,
  details?: Record<string, unknown>,
): ErrorEnvelope {
  return { error: { code, message, details: details ?? {}, request_id: requestId } };
}

const HTTP_CODES: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_denied',
  404: 'resource_not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; expose?: unknown };
  return typeof e.status === 'number' && e.expose === true ? e.status : undefined;
}
