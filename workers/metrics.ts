/**
 * A worker process's metrics: the process's own, its NATS client's errors, and what its pool
 * records (persona replies, webhook deliveries), served on the pool's port (`metrics.ports`).
 */
import { Registry } from 'prom-client';
import type { Bus } from '../lib/bus';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import {
  countNatsErrors,
  createProcessMetrics,
  metricsPort,
  serveMetrics,
  type MetricsProcess,
  type MetricsServer,
  type ProcessMetrics,
} from '../lib/metrics';

export interface WorkerMetrics extends ProcessMetrics {
  /** A port is configured (0 turns metrics off). */
  served: boolean;
  /** Counts the errors of the worker's NATS connection. */
  watch(bus: Bus): void;
  /** Starts `GET /metrics`, with `extra` (the Temporal SDK's text) appended; undefined when off. */
  serve(extra?: () => Promise<string>): Promise<MetricsServer | undefined>;
}

export function workerMetrics(
  process: MetricsProcess,
  config: Config,
  log: Logger,
  registry: Registry = new Registry(),
): WorkerMetrics {
  const metrics = createProcessMetrics(registry);
  const port = metricsPort(config, process);
  return {
    ...metrics,
    served: port > 0,
    watch: (bus) => countNatsErrors(bus, metrics.natsErrors),
    serve: async (extra) =>
      port > 0
        ? serveMetrics(registry, { host: config.metrics.host, port }, log, extra ? { extra } : {})
        : undefined,
  };
}
