/** The API's request limits and login guard, sharing one set of cluster-wide counters. */
import type { Bus } from '../../lib/bus';
import type { Config } from '../../lib/config';
import { ClusterCounters } from '../../lib/rate-limit/counters';
import { LoginGuard, type AccountOf } from './login-guard';
import { RateLimiter } from './rate-limit';

export { RateLimiter, LoginGuard };

export interface Limits {
  counters: ClusterCounters;
  limiter: RateLimiter;
  guard: LoginGuard;
  start(): Promise<void>;
  stop(): void;
}

export function createLimits(config: Config, bus: Bus, accountOf: AccountOf): Limits {
  const settings = config.security.rate_limiting;
  const counters = new ClusterCounters(bus, settings.sync_interval_ms);
  const guard = new LoginGuard(settings.login, counters, settings.enabled, accountOf);
  return {
    counters,
    limiter: new RateLimiter(settings, config.security.api_keys.rate_limiting, counters),
    guard,
    start: async () => {
      if (!settings.enabled) return;
      counters.start();
      await guard.start(bus);
    },
    stop: () => counters.stop(),
  };
}
