/**
 * Request limits (spec "Rate Limiting"): global, per client address and per endpoint before
 * authentication; per user (by role) or per API key after it. Counts are shared by every API
 * instance (see ClusterCounters). Each answer carries the tightest limit that applied in
 * `X-RateLimit-Limit/Remaining/Reset`; a refusal is a 429 envelope with `Retry-After`.
 */
import type Koa from 'koa';
import type { Config } from '../../lib/config';
import type { Principal } from '../../lib/auth/roles';
import { RateLimitedError } from '../../lib/errors';
import type { ClusterCounters, Hit } from '../../lib/rate-limit/counters';
import type { Rate } from '../../lib/rate-limit/rate';
import { addressMatcher, normaliseIp } from './addresses';

type Limits = Config['security']['rate_limiting'];
type KeyLimits = Config['security']['api_keys']['rate_limiting'];

interface Check {
  key: string;
  rate: Rate;
  /** What the limit counts, for the error's details. */
  scope: 'global' | 'ip' | 'endpoint' | 'user' | 'api_key';
}

// Probes from load balancers and orchestrators must not be throttled into "unhealthy".
const EXEMPT = /^\/api\/health(\/|$)/;

export class RateLimiter {
  private readonly allowed: (ip: string) => boolean;

  constructor(
    private readonly limits: Limits,
    private readonly keyLimits: KeyLimits,
    readonly counters: ClusterCounters,
  ) {
    this.allowed = addressMatcher(limits.ip_whitelist);
  }

  /** Koa middleware for the limits that need no credentials. */
  middleware(): Koa.Middleware {
    return async (ctx, next) => {
      if (this.exempt(ctx)) {
        await next();
        return;
      }
      const ip = normaliseIp(ctx.ip);
      const checks: Check[] = [
        { key: 'global', rate: this.limits.global, scope: 'global' },
        { key: `ip:${ip}`, rate: this.limits.default_limit, scope: 'ip' },
      ];
      // "POST /path" is more specific than "/path" (any method).
      const named = [`${ctx.method} ${ctx.path}`, ctx.path].find(
        (k) => this.limits.per_endpoint[k],
      );
      if (named)
        checks.push({
          key: `ep:${named}:${ip}`,
          rate: this.limits.per_endpoint[named]!,
          scope: 'endpoint',
        });
      this.apply(ctx, checks);
      await next();
    };
  }

  /** The caller's own limit, once authentication says who it is. */
  forPrincipal(ctx: Koa.Context, principal: Principal): void {
    if (this.exempt(ctx)) return;
    if (principal.kind === 'api_key') {
      if (this.keyLimits.enabled)
        this.apply(ctx, [
          { key: `key:${principal.id}`, rate: this.keyLimits.rate, scope: 'api_key' },
        ]);
      return;
    }
    const rate = this.limits.per_user[principal.role] ?? this.limits.per_user.default;
    this.apply(ctx, [{ key: `user:${principal.id}`, rate, scope: 'user' }]);
  }

  private exempt(ctx: Koa.Context): boolean {
    return !this.limits.enabled || EXEMPT.test(ctx.path) || this.allowed(ctx.ip);
  }

  /** Counts the request against every check, or against none when one of them is full. */
  private apply(ctx: Koa.Context, checks: Check[]): void {
    const full = checks.find((c) => this.counters.count(c.key, c.rate) >= c.rate.limit);
    if (full) {
      const hit = this.counters.hit(full.key, full.rate);
      this.report(ctx, hit);
      const retryAfter = Math.max(1, Math.ceil((hit.reset_at - Date.now()) / 1000));
      throw new RateLimitedError(
        `Too many requests: the ${SAID[full.scope]} limit is ${full.rate.text}; retry in ${retryAfter} s`,
        retryAfter,
        { limit: full.rate.text, scope: full.scope },
      );
    }
    for (const c of checks) this.report(ctx, this.counters.hit(c.key, c.rate));
  }

  /** Keeps the headers of the tightest limit seen by this request. */
  private report(ctx: Koa.Context, hit: Hit): void {
    const shown = ctx.state.rateLimit as Hit | undefined;
    if (shown && shown.remaining <= hit.remaining) return;
    ctx.state.rateLimit = hit;
    ctx.set('X-RateLimit-Limit', String(hit.limit));
    ctx.set('X-RateLimit-Remaining', String(hit.remaining));
    ctx.set('X-RateLimit-Reset', String(Math.ceil(hit.reset_at / 1000)));
  }
}

const SAID: Record<Check['scope'], string> = {
  global: 'service-wide',
  ip: 'per-address',
  endpoint: "this endpoint's",
  user: 'per-user',
  api_key: 'per-key',
};
