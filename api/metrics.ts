/**
 * The API's metrics, with the process's own: request latency by route and status, open
 * WebSockets, sessions by status, and the errors of its Temporal and NATS clients. Served on
 * `metrics.ports.api`, a listener apart from the API's port.
 */
import { Gauge, Histogram, type Counter } from 'prom-client';
import type { Db } from 'mongodb';
import type { Bus } from '../lib/bus';
import {
  countNatsErrors,
  countSessions,
  createProcessMetrics,
  createTemporalClientMetrics,
  type ProcessMetrics,
  type RpcErrorSink,
} from '../lib/metrics';

export interface ApiMetrics extends ProcessMetrics {
  requestSeconds: Histogram<'method' | 'route' | 'status'>;
  temporalErrors: Counter<'method' | 'code'>;
  /** For the Temporal connection's interceptor, which exists before anything else is connected. */
  onTemporalRpcError: RpcErrorSink;
}

export function createApiMetrics(): ApiMetrics {
  const base = createProcessMetrics();
  return {
    ...base,
    ...createTemporalClientMetrics(base.registry),
    requestSeconds: new Histogram({
      name: 'smartsteps_http_request_duration_seconds',
      help: 'HTTP requests by method, route template (as in the OpenAPI document; "unmatched" for unknown paths) and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [base.registry],
    }),
  };
}

/** What the API reads off its connections and sockets once they exist. */
export function observeApi(
  metrics: ApiMetrics,
  deps: { bus: Bus; db: Db; sessionsRefreshSeconds: number; openSockets: () => number },
): void {
  countNatsErrors(deps.bus, metrics.natsErrors);
  countSessions(metrics.registry, deps.db, deps.sessionsRefreshSeconds);
  new Gauge({
    name: 'smartsteps_websocket_connections',
    help: 'WebSocket connections open on this API instance, signed in or still authenticating.',
    registers: [metrics.registry],
    collect() {
      this.set(deps.openSockets());
    },
  });
}
