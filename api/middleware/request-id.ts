import type { Middleware } from 'koa';
import { newId } from '../../lib/ids';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every request gets an id (the caller's `X-Request-Id` when sane) used in logs and error envelopes. */
export function requestId(): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = ACCEPTABLE.test(incoming) ? incoming : newId('request');
    ctx.set('X-Request-Id', ctx.state.requestId as string);
    await next();
  };
}
