/**
 * What every process's metrics have: the Node.js process's own (CPU, memory, event loop, GC) and
 * errors of its NATS client. Each process (API, session worker, persona worker, webhook
 * dispatcher) has a port of its own, so several run on one host without colliding.
 */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config';

export type MetricsProcess = keyof Config['metrics']['ports'];

export interface ProcessMetrics {
  registry: Registry;
  /** kind: `publish` (a JetStream publish that failed) or the connection's status (`disconnect`…). */
  natsErrors: Counter<'kind'>;
}

export function createProcessMetrics(registry = new Registry()): ProcessMetrics {
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    natsErrors: new Counter({
      name: 'smartsteps_nats_errors_total',
      help: 'NATS client errors: failed JetStream publishes, and disconnects, errors, stale connections and slow consumers reported by the connection.',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

/** The port `process` serves metrics on; 0 is off. */
export function metricsPort(config: Config, process: MetricsProcess): number {
  // The one key from before every process had a port keeps meaning the persona worker's.
  if (process === 'personas' && config.metrics.port !== undefined) return config.metrics.port;
  return config.metrics.ports[process];
}
