import type { Middleware } from 'koa';

/**
 * The configured security headers on every response, errors included. A route may loosen the
 * Content-Security-Policy for its own page (the Swagger UI) through `ctx.state.contentSecurityPolicy`.
 *
 * `Strict-Transport-Security` only goes out over HTTPS (this server's TLS, or a trusted proxy's,
 * as `X-Forwarded-Proto` says): browsers ignore it over plain HTTP, and sending it there would
 * claim a protection that is not in place.
 */
export function securityHeaders(headers: Record<string, string>): Middleware {
  const isHsts = ([name]: [string, string]) => name.toLowerCase() === 'strict-transport-security';
  const overHttps = Object.entries(headers);
  const overHttp = overHttps.filter((h) => !isHsts(h));
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      for (const [name, value] of ctx.secure ? overHttps : overHttp) ctx.set(name, value);
      const csp = ctx.state.contentSecurityPolicy as string | undefined;
      if (csp && ctx.response.get('Content-Security-Policy'))
        ctx.set('Content-Security-Policy', csp);
    }
  };
}
