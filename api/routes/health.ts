import Router from '@koa/router';
import { checkDependencies, type Probe } from '../../lib/health';
import { envelope } from '../middleware/errors';

/**
 * `GET /api/health`: 200 when Temporal, NATS and MongoDB all answer, else 503 naming the
 * failing ones. The 503 body keeps the per-dependency report and adds the standard error
 * envelope, so monitors and API clients can both read it.
 */
export function healthRoutes(probes: Record<string, Probe>, version: string): Router {
  const router = new Router();
  const startedAt = Date.now();

  router.get('/api/health', async (ctx) => {
    const dependencies = await checkDependencies(probes);
    const failing = Object.entries(dependencies)
      .filter(([, r]) => r.status !== 'ok')
      .map(([name]) => name);
    const report = {
      status: failing.length === 0 ? 'ok' : 'unavailable',
      version,
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      dependencies,
    };
    ctx.set('Cache-Control', 'no-store');
    if (failing.length === 0) {
      ctx.body = report;
      return;
    }
    ctx.status = 503;
    ctx.body = {
      ...report,
      ...envelope(
        'service_unavailable',
        `Unavailable: ${failing.join(', ')}`,
        ctx.state.requestId as string,
        {
          failing,
        },
      ),
    };
  });

  return router;
}
