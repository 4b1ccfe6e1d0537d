/** Retries `fn` with capped exponential backoff until it succeeds or `deadlineMs` passes. */
export async function retryUntil<T>(
  fn: () => Promise<T>,
  opts: { deadlineMs: number; onRetry?: (err: unknown, attempt: number) => void },
): Promise<T> {
  const deadline = Date.now() + opts.deadlineMs;
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      opts.onRetry?.(err, attempt);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

/**
 * Connects to a dependency that may still be starting (compose, `npm start`), logging the wait
 * now and then rather than on every attempt.
 */
export function waitForDependency<T>(
  log: { warn(msg: string): void },
  what: string,
  connect: () => Promise<T>,
  deadlineMs = 30_000,
): Promise<T> {
  return retryUntil(connect, {
    deadlineMs,
    onRetry: (err, attempt) => {
      if (attempt === 1 || attempt % 5 === 0)
        log.warn(`waiting for ${what}: ${(err as Error).message}`);
    },
  });
}
