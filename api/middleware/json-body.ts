import type { Middleware } from 'koa';
import { BadRequestError, PayloadTooLargeError } from '../../lib/errors';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Reads JSON bodies with a size limit. The bytes as received are kept on `ctx.state.rawBodyBytes`
 * because request signatures (HMAC over timestamp + raw body) must be checked on exactly what was
 * sent (decoding and re-encoding would change invalid UTF-8); the text on `ctx.state.rawBody`.
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
    const bytes = Buffer.concat(chunks);
    ctx.state.rawBodyBytes = bytes;
    const raw = bytes.toString('utf8');
    ctx.state.rawBody = raw;

    if (raw.trim() === '') {
      ctx.state.body = undefined;
    } else {
      if (!ctx.is('application/json', '+json')) {
        throw new BadRequestError('Request bodies must be JSON (Content-Type: application/json)');
      }
      let body: unknown;
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        throw new BadRequestError('Request body is not valid JSON');
      }
      checkShape(body);
      ctx.state.body = body;
    }
    await next();
  };
}

function tooLarge(limitBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`Request body exceeds ${Math.floor(limitBytes / 1024)} KiB`, {
    limit_bytes: limitBytes,
  });
}

/** No payload of this API nests deeper; anything deeper is an attack on whatever walks it. */
export const MAX_BODY_DEPTH = 32;

/**
 * Refuses bodies nested past MAX_BODY_DEPTH and field names that MongoDB would read as operators
 * (`$where`, `$gt`) anywhere in the body, free-form metadata included: no field of ours is named
 * so, and such a name can only be an attempt to reach the query language.
 * Iterative, so a hostile depth cannot exhaust the stack.
 */
function checkShape(body: unknown): void {
  const stack: [unknown, number][] = [[body, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) {
      throw new BadRequestError(
        `Request body is nested too deeply (more than ${MAX_BODY_DEPTH} levels)`,
      );
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('\0')) {
        throw new BadRequestError(`Field names may not start with '$': '${key.slice(0, 40)}'`, {
          field: key.slice(0, 40),
        });
      }
      stack.push([item, depth + 1]);
    }
  }
}
