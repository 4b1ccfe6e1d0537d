import type Koa from 'koa';
import cors from '@koa/cors';
import type { Config } from '../../lib/config';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../lib/auth/request-signing';
import { CODEC_PREFIX } from '../routes/codec';

/**
 * Browser access. The API answers the origins in `server.cors.allowed_origins`; the codec
 * endpoints answer only `temporal.codec.cors_origins` (the Temporal Web UI), whatever the API
 * allows, since a page that may call them can read decrypted transcripts.
 */
export function corsPolicies(config: Config): Koa.Middleware {
  const api = config.server.cors.allowed_origins.length ? apiCors(config) : undefined;
  const codec = config.temporal.codec.cors_origins.length ? codecCors(config) : undefined;
  return async (ctx, next) => {
    const policy =
      ctx.path === CODEC_PREFIX || ctx.path.startsWith(`${CODEC_PREFIX}/`) ? codec : api;
    if (policy) await policy(ctx, next);
    else await next();
  };
}

const allowOrigin = (allowed: Set<string>) => (ctx: Koa.Context) => {
  if (allowed.has('*')) return '*';
  const origin = ctx.get('Origin');
  return allowed.has(origin) ? origin : '';
};

function apiCors(config: Config): Koa.Middleware {
  return cors({
    origin: allowOrigin(new Set(config.server.cors.allowed_origins)),
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'X-Request-Id',
      TIMESTAMP_HEADER,
      SIGNATURE_HEADER,
    ],
    exposeHeaders: [
      'X-Request-Id',
      'X-API-Warning',
      'Location',
      'Retry-After',
      'Idempotent-Replayed',
    ],
    maxAge: config.server.cors.max_age_seconds,
  });
}

function codecCors(config: Config): Koa.Middleware {
  return cors({
    origin: allowOrigin(new Set(config.temporal.codec.cors_origins)),
    allowMethods: ['POST'],
    // What the Temporal UI sends: JSON, the namespace, and a token when told to pass one.
    allowHeaders: ['Authorization', 'Content-Type', 'X-Namespace'],
    exposeHeaders: ['X-Request-Id'],
    maxAge: config.server.cors.max_age_seconds,
    // A UI served from another host may still call a codec on the operator's own machine.
    privateNetworkAccess: true,
  });
}
