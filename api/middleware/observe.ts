import type { Context, Middleware } from 'koa';
import type { Histogram } from 'prom-client';
import type { Logger } from '../../lib/log';
import { loggablePath } from '../routes/codec';

/** Session routes name the session in their `{id}`; their log lines carry it as `session_id`. */
const SESSION_ROUTE = /^\/api\/v1\/sessions\/\{id\}/;

/**
 * One log line and one latency observation per request, both under the route's template.
 * The line holds ids only — request, route, path without its query (where searches for names
 * go), status — never bodies, so no message or client detail reaches the logs at info level.
 */
export function observeRequests(
  log: Logger,
  routeOf: (ctx: Context) => string,
  latency?: Histogram<'method' | 'route' | 'status'>,
): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const route = routeOf(ctx);
      latency?.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      const sessionId = SESSION_ROUTE.test(route)
        ? (ctx.params as Record<string, string> | undefined)?.id
        : undefined;
      log.info(
        {
          request_id: ctx.state.requestId as string,
          method: ctx.method,
          route,
          path: loggablePath(ctx.path),
          status: ctx.status,
          ms: Math.round(seconds * 1000),
          ...(sessionId ? { session_id: sessionId } : {}),
        },
        'request',
      );
    }
  };
}
