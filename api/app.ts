import Koa from 'koa';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import type { Connections } from '../lib/connections';
import { requestId } from './middleware/request-id';
import { errorEnvelope } from './middleware/errors';
import { jsonBody } from './middleware/json-body';
import { healthRoutes } from './routes/health';
import { VERSION } from '../lib/version';

export interface AppDeps {
  config: Config;
  log: Logger;
  connections: Connections;
}

/** Builds the Koa application; no listening, so tests and the server share one construction. */
export function createApp({ config, log, connections }: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  // Koa's default handler prints stacks to stderr; the error middleware already logs once.
  app.silent = true;

  app.use(requestId());
  app.use(accessLog(log));
  app.use(errorEnvelope(log));
  app.use(jsonBody(config.server.body_limit_kb * 1024));

  const health = healthRoutes(connections.probes, VERSION);
  app.use(health.routes()).use(health.allowedMethods({ throw: true }));
  return app;
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
