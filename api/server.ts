/**
 * API entry point: `start()` connects to the dependencies and listens; `stop()` stops accepting,
 * lets in-flight requests finish (up to the configured grace) and closes the connections.
 * Run directly (`tsx api/server.ts [--config PATH]`) it starts and stops on SIGINT/SIGTERM.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadConfigOrExit, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { connectAll, type Connections } from '../lib/connections';
import { createApp } from './app';
import { createLimits, type Limits } from './limits';
import { UserStore } from '../lib/auth/users';
import { onShutdownSignal } from '../lib/process';
import { loadPersonaDefinitions, PersonaRegistry } from '../personas/registry';
import { requireJwtSecret } from '../lib/config';
import { createAuthService } from '../lib/auth/sessions';
import { createWsGateway } from './ws/gateway';
import { createApiMetrics, observeApi } from './metrics';
import { metricsPort, serveMetrics } from '../lib/metrics';

export interface ApiServer {
  url: string;
  port: number;
  connections: Connections;
  /** Request limits and the login guard (their cluster-wide counters). */
  limits: Limits;
  /** Where `GET /metrics` answers, when `metrics.ports.api` is set and was free. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export async function start(
  config: Config,
  log: Logger = createLogger('api', config.logging.level),
): Promise<ApiServer> {
  // Persona files are checked before connecting: a broken one stops the start with its name.
  const personas = new PersonaRegistry(loadPersonaDefinitions());
  // Without a signing secret no token could be issued or checked: refuse before connecting.
  requireJwtSecret(config);
  const metrics = createApiMetrics();
  const connections = await connectAll(config, log, 'smart-steps-api', {
    onTemporalRpcError: metrics.onTemporalRpcError,
  });
  const auth = createAuthService(config, {
    db: connections.store.db,
    nc: connections.bus.nc,
    log,
  });
  try {
    await auth.start();
  } catch (err) {
    await connections.close();
    throw err;
  }
  const users = new UserStore(connections.store.db);
  const limits = createLimits(config, connections.bus, async (login) => {
    const user = await users.findByLogin(login);
    return user ? `u:${user.user_id}` : `n:${login}`;
  });
  try {
    await limits.start();
  } catch (err) {
    limits.stop();
    await auth.stop();
    await connections.close();
    throw err;
  }
  const app = createApp({ config, log, connections, personas, auth, limits, metrics });
  const { tls } = config.server;
  // TLS here for deployments without a proxy in front; behind one, the proxy terminates it.
  const server =
    tls.cert_file && tls.key_file
      ? https.createServer(
          {
            cert: readFileSync(tls.cert_file),
            key: readFileSync(tls.key_file),
            minVersion: tls.min_version,
          },
          app.koa.callback(),
        )
      : http.createServer(app.koa.callback());
  server.keepAliveTimeout = 5_000;
  const ws = createWsGateway({
    config,
    log,
    bus: connections.bus,
    auth,
    sessions: app.sessions,
    audit: app.audit,
    cancellable: connections.temporal.cancellable,
  });
  server.on('upgrade', ws.handleUpgrade);
  observeApi(metrics, {
    bus: connections.bus,
    db: connections.store.db,
    sessionsRefreshSeconds: config.metrics.sessions_refresh_seconds,
    openSockets: ws.openSockets,
  });

  try {
    await app.audit.start();
    await ws.start();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.port, config.server.host, () => resolve());
    });
  } catch (err) {
    await ws.close();
    await app.cache?.stop();
    await app.audit.stop();
    limits.stop();
    await auth.stop();
    await connections.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `${tls.cert_file ? 'https' : 'http'}://${config.server.host}:${port}`;
  log.info({ url }, 'api listening');
  const apiMetricsPort = metricsPort(config, 'api');
  const metricsServer = apiMetricsPort
    ? await serveMetrics(metrics.registry, { host: config.metrics.host, port: apiMetricsPort }, log)
    : undefined;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Readiness fails first and the server keeps serving a while, so a load balancer stops
      // sending new requests before connections are refused.
      app.drain();
      if (config.server.drain_seconds > 0) {
        log.info({ seconds: config.server.drain_seconds }, 'api draining');
        await new Promise((r) => setTimeout(r, config.server.drain_seconds * 1000));
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Sockets are told 1001 (going away) and reconnect elsewhere, resuming with `since`.
      await ws.close();
      const grace = setTimeout(
        () => server.closeAllConnections(),
        config.server.shutdown_grace_seconds * 1000,
      );
      await closed;
      clearTimeout(grace);
      await app.cache?.stop();
      // After the last request: every entry published so far is written before the bus closes.
      await app.audit.stop();
      limits.stop();
      await auth.stop();
      await connections.close();
      await metricsServer?.close();
      log.info('api stopped');
    })());

  return { url, port, connections, limits, metricsUrl: metricsServer?.url, stop };
}

if (require.main === module) {
  const config = loadConfigOrExit();
  const log = createLogger('api', config.logging.level);
  start(config, log).then(
    (api) => onShutdownSignal(log, () => api.stop()),
    (err: unknown) => {
      log.fatal({ err }, `api failed to start: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
