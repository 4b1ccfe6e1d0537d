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
