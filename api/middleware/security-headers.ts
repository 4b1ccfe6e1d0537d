import type { Middleware } from 'koa';

/**
 * The configured security headers on every response, errors included. A route may loosen the
 * Content-Security-Policy for its own page (the Swagger UI) through `ctx.state.contentSecurityPolicy`.
 */
export function securityHeaders(headers: Record<string, string>): Middleware {
  const entries = Object.entries(headers);
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      for (const [name, value] of entries) ctx.set(name, value);
      const csp = ctx.state.contentSecurityPolicy as string | undefined;
      if (csp && ctx.response.get('Content-Security-Policy'))
        ctx.set('Content-Security-Policy', csp);
    }
  };
}
