/** Metrics of the webhook dispatcher: every delivery attempt, by how it ended, and its duration. */
import { Counter, Histogram, type Registry } from 'prom-client';

/** `failed`: will be retried; `abandoned`: failed, and no retry is left within the maximum age. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'abandoned';
const OUTCOMES: DeliveryOutcome[] = ['delivered', 'failed', 'abandoned'];

export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  deliverySeconds: Histogram<'outcome'>;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const metrics: WebhookMetrics = {
    deliveries: new Counter({
      name: 'smartsteps_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (to be retried), abandoned (failed with no retry left).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'smartsteps_webhook_delivery_duration_seconds',
      help: 'Time from sending a webhook delivery to its answer (or timeout), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
  // Present from the start, so a first failure shows as a rise rather than a new series.
  for (const outcome of OUTCOMES) metrics.deliveries.inc({ outcome }, 0);
  return metrics;
}

export function observeDelivery(
  metrics: WebhookMetrics | undefined,
  outcome: DeliveryOutcome,
  durationMs: number,
): void {
  metrics?.deliveries.inc({ outcome });
  metrics?.deliverySeconds.observe({ outcome }, durationMs / 1000);
}
