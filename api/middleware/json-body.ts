import type { Middleware } from 'koa';
import { BadRequestError, PayloadTooLargeError } from '../../lib/errors';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Reads JSON bodies with a size limit. The raw text is kept on `ctx.state.rawBody` because
 * request signatures (HMAC over timestamp + raw body) must be checked on the exact bytes sent.
 */
export function jsonBody(limitBytes: number): Middleware {
  return async (ctx, next) => {
    if (!BODY_METHODS.has(ctx.method)) {
      await next();
      return;
    }
    const declared = Number(ctx.get('Content-Length') || '0');
    if (declared > limitBytes) throw tooLarge(limitBytes);

    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    ctx.state.rawBody = raw;

    if (raw.trim() === '') {
      ctx.state.body = undefined;
    } else {
      if (!ctx.is('application/json', '+json')) {
        throw new BadRequestError('Request bodies must be JSON (Content-Type: application/json)');
      }
      try {
        ctx.state.body = JSON.parse(raw) as unknown;
      } catch {
        throw new BadRequestError('Request body is not valid JSON');
      }
    }
    await next();
  };
}

function tooLarge(limitBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`Request body exceeds ${Math.floor(limitBytes / 1024)} KiB`, {
    limit_bytes: limitBytes,
  });
}
