/**
 * Prometheus metrics of the persona pool, served by each persona worker on `metrics.port`.
 * Deliberately small: how long replies take, how often providers fail and the local engine
 * stands in. A registry per worker (not prom-client's global one), so tests that run several
 * workers in one process read each one's own counts.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './log';

export interface PersonaMetrics {
  registry: Registry;
  /** engine: who wrote the reply (`local` after a fallback); provider: who was configured to. */
  replySeconds: Histogram<'engine' | 'provider'>;
  /** Every failed provider request, retried or not. */
  providerFailures: Counter<'provider' | 'reason'>;
  /** Replies the local engine wrote because the provider failed. */
  fallbacks: Counter<'provider'>;
}

export function createPersonaMetrics(registry = new Registry()): PersonaMetrics {
  return {
    registry,
    replySeconds: new Histogram({
      name: 'smartsteps_persona_reply_seconds',
      help: 'Time to write one persona reply, by the engine that wrote it and the provider configured for the persona.',
      labelNames: ['engine', 'provider'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      registers: [registry],
    }),
    providerFailures: new Counter({
      name: 'smartsteps_persona_provider_failures_total',
      help: 'Failed requests to an LLM provider, retried or not, by failure reason.',
      labelNames: ['provider', 'reason'],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'smartsteps_persona_fallbacks_total',
      help: 'Persona replies written by the local engine because the configured provider failed.',
      labelNames: ['provider'],
      registers: [registry],
    }),
  };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` in the Prometheus text format, with the process's own metrics (CPU, memory,
 * event loop) added. A port already taken is logged rather than fatal: replies matter more than
 * their metrics, and several workers on one host would otherwise stop each other starting.
 */
export async function serveMetrics(
  metrics: PersonaMetrics,
  where: { host: string; port: number },
  log: Logger,
): Promise<MetricsServer | undefined> {
  collectDefaultMetrics({ register: metrics.registry });
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'metrics could not be collected');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where.port, where.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    log.error(
      { err, host: where.host, port: where.port },
      `metrics are not served: cannot listen on ${where.host}:${where.port} (set metrics.port, 0 turns them off)`,
    );
    return undefined;
  }
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
