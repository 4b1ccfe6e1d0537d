import type { Middleware } from 'koa';

export interface InFlight {
  middleware: Middleware;
  /** Resolves when no request is being handled, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void>;
}

/**
 * Counts requests being handled, so shutdown can wait for them before closing the Temporal,
 * NATS and MongoDB connections they are still using.
 */
export function inFlight(): InFlight {
  let count = 0;
  let waiters: Array<() => void> = [];
  return {
    middleware: async (_ctx, next) => {
      count++;
      try {
        await next();
      } finally {
        count--;
        if (count === 0) {
          for (const w of waiters) w();
          waiters = [];
        }
      }
    },
    drained: (timeoutMs) =>
      count === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, timeoutMs);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
  };
}
