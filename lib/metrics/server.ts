/**
 * `GET /metrics` in the Prometheus text format, on a listener of its own (`metrics.host` and the
 * process's port), never on the API's port: what a process counts is for operators, not callers.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** More exposition text appended to the registry's (the Temporal SDK's metrics). */
  extra?: () => Promise<string>;
}

/**
 * A port already taken is logged rather than fatal: the process's work matters more than its
 * metrics, and several processes on one host would otherwise stop each other starting.
 */
export async function serveMetrics(
  registry: Registry,
  where: { host: string; port: number },
  log: Logger,
  opts: ServeOptions = {},
): Promise<MetricsServer | undefined> {
  const exposition = async () => {
    const [own, extra] = await Promise.all([registry.metrics(), opts.extra?.() ?? '']);
    return extra ? `${own.endsWith('\n') ? own : `${own}\n`}${extra}` : own;
  };
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    exposition().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
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
      `metrics are not served: cannot listen on ${where.host}:${where.port} (set metrics.ports, 0 turns them off)`,
    );
    return undefined;
  }
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}/metrics`;
  log.info({ url }, 'metrics served');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
