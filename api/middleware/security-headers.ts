import type { Middleware } from 'koa';

/** The configured security headers on every response, errors included. */
export function securityHeaders(headers: Record<string, string>): Middleware {
  const entries = Object.entries(headers);
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      for (const [name, value] of entries) ctx.set(name, value);
    }
  };
}
