/**
 * Prometheus metrics. Every process (API, session worker, persona worker, webhook dispatcher)
 * has a registry of its own (never prom-client's global one, so tests running several in one
 * process read each one's counts) served on a port of its own; README "Observability" lists them.
 */
export { createPersonaMetrics, type PersonaMetrics } from './persona';
export { serveMetrics, type MetricsServer } from './server';
export {
  createProcessMetrics,
  metricsPort,
  type MetricsProcess,
  type ProcessMetrics,
} from './process';
export { countNatsErrors } from './nats';
export { countSessions } from './sessions';
export { createTemporalClientMetrics, countRpcErrors, type RpcErrorSink } from './temporal-client';
export { createWebhookMetrics, observeDelivery, type WebhookMetrics } from './webhooks';
