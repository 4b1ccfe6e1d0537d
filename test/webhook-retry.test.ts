/**
 * The retry schedule of failed webhook deliveries: exponential from the initial delay up to the
 * maximum, spread by jitter, and, with the shipped defaults, going on for hours before a
 * delivery is given up. The integration tests run it with millisecond delays, where none of
 * this is visible.
 */
import { configSchema } from '../lib/config';
import { retryDelayMs, type WebhookSettings } from '../lib/webhooks/deliver';

const defaults: WebhookSettings = configSchema.shape.webhooks.parse({});
const withRetry = (retry: Partial<WebhookSettings['retry']>): WebhookSettings => ({
  ...defaults,
  retry: { ...defaults.retry, ...retry },
});

describe('webhook retry delays', () => {
  it('double after each failure, from the initial delay up to the maximum', () => {
    const settings = withRetry({ initial_delay_seconds: 10, max_delay_seconds: 300, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => retryDelayMs(settings, attempt))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('are spread by the jitter, within its bounds, so receivers are not retried in lockstep', () => {
    const settings = withRetry({ initial_delay_seconds: 10, max_delay_seconds: 300, jitter: 0.2 });
    const delays = Array.from({ length: 200 }, () => retryDelayMs(settings, 3));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(32_000);
      expect(d).toBeLessThanOrEqual(48_000);
    }
    // 200 draws from ±20 %: all alike would mean no jitter at all.
    expect(new Set(delays).size).toBeGreaterThan(50);
  });

  it('keep a failing delivery going for hours with the default settings', () => {
    // What the dispatcher does: the next attempt is scheduled while it comes within the maximum
    // age of the event, so the last one falls in the final hour of it.
    const maxAgeMs = defaults.retry.max_age_hours * 3_600_000;
    expect(defaults.retry.max_age_hours).toBeGreaterThanOrEqual(2);
    expect(defaults.retry.jitter).toBeGreaterThan(0);
    let elapsed = 0;
    let attempts = 1;
    for (;;) {
      const next = elapsed + retryDelayMs(defaults, attempts);
      if (next > maxAgeMs) break;
      elapsed = next;
      attempts++;
    }
    expect(elapsed).toBeGreaterThan(maxAgeMs - defaults.retry.max_delay_seconds * 1000 * 1.5);
    expect(elapsed).toBeGreaterThan(2 * 3_600_000);
    expect(attempts).toBeGreaterThan(10);
  });
});
