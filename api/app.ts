import Koa from 'koa';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import type { Connections } from '../lib/connections';
import { requestId } from './middleware/request-id';
import { inFlight } from './middleware/in-flight';
import { securityHeaders } from './middleware/security-headers';
import { idempotency } from './middleware/idempotency';
import { errorEnvelope } from './middleware/errors';
import { jsonBody } from './middleware/json-body';
import { healthRoutes } from './routes/health';
import { VERSION } from '../lib/version';
import { sessionRoutes } from './routes/sessions';
import { SessionService } from './sessions/service';
import { personaRoutes } from './routes/personas';
import { clientRoutes } from './routes/clients';
import { ClientService } from './clients/service';
import type { PersonaRegistry } from '../personas/registry';
import { seriesRoutes } from './routes/series';
import { SeriesService } from './series/service';

export interface AppDeps {
  config: Config;
  log: Logger;
  connections: Connections;
  personas: PersonaRegistry;
}

/** Builds the Koa application; no listening, so tests and the server share one construction. */
export interface App {
  koa: Koa;
  /** Resolves once no request is in progress (or after the timeout). */
  drained(timeoutMs: number): Promise<void>;
}

export function createApp({ config, log, connections, personas }: AppDeps): App {
  const app = new Koa();
  const requests = inFlight();
  app.proxy = true;
  // Koa's default handler prints stacks to stderr; the error middleware already logs once.
  app.silent = true;

  app.use(requests.middleware);
  app.use(requestId());
  app.use(securityHeaders(config.security.headers));
  app.use(accessLog(log));
  app.use(errorEnvelope(log));
  app.use(jsonBody(config.server.body_limit_kb * 1024));
  // Until authentication lands every caller is the same; keys will then be scoped per user or API key.
  app.use(idempotency(connections.store.db, () => 'system'));

  const health = healthRoutes(connections.probes, VERSION);
  app.use(health.routes()).use(health.allowedMethods({ throw: true }));

  const { client } = connections.temporal;
  const { db } = connections.store;
  const sessions = new SessionService(client, db, config, personas);
  const series = new SeriesService(client, db, config, personas, sessions);
  // Until authentication lands every caller acts as the system user.
  const actor = () => ({ name: 'system' });
  const clients = new ClientService(db, connections.bus);
  for (const router of [
    sessionRoutes(sessions, actor),
    seriesRoutes(series, actor),
    personaRoutes(personas),
    clientRoutes(clients, actor),
  ]) {
    app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  }
  return { koa: app, drained: (timeoutMs) => requests.drained(timeoutMs) };
}

function accessLog(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      log.debug(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    }
  };
}
