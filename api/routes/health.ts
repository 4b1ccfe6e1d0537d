import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { checkDependencies, type Probe } from '../../lib/health';
import { envelope } from '../middleware/errors';
import { route, type AnyRoute } from '../routing/route';

const dependencySchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  latency_ms: z.number(),
  error: z.string().optional(),
});
const healthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  version: z.string(),
  uptime_seconds: z.number().int(),
  dependencies: z.record(z.string(), dependencySchema),
});
const liveSchema = healthSchema.omit({ dependencies: true });

/**
 * Health for monitors, load balancers and orchestrators, none needing credentials:
 *
 * - `GET /api/health`: 200 when Temporal, NATS and MongoDB all answer, else 503 naming the
 *   failing ones.
 * - `GET /api/health/live`: the process is up and serving — 200 always, nothing else asked, so
 *   an orchestrator never restarts an API for a dependency's outage.
 * - `GET /api/health/ready`: whether to send it traffic — as `/api/health`, and 503 while it
 *   drains on shutdown.
 *
 * A 503 keeps the report and adds the standard error envelope, so monitors and API clients can
 * both read it.
 */
export function healthRoutes(
  probes: Record<string, Probe>,
  version: string,
  draining: () => boolean = () => false,
): AnyRoute[] {
  const startedAt = Date.now();
  const basics = () => ({
    version,
    uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
  });

  const report = async (ctx: RouterContext) => {
    const dependencies = await checkDependencies(probes);
    const failing = Object.entries(dependencies)
      .filter(([, r]) => r.status !== 'ok')
      .map(([name]) => name);
    const body = {
      status: failing.length === 0 ? 'ok' : 'unavailable',
      ...basics(),
      dependencies,
    };
    ctx.set('Cache-Control', 'no-store');
    if (failing.length === 0) {
      ctx.body = body;
      return;
    }
    ctx.status = 503;
    ctx.body = {
      ...body,
      ...envelope(
        'service_unavailable',
        `Unavailable: ${failing.join(', ')}`,
        ctx.state.requestId as string,
        { failing },
      ),
    };
  };

  const unavailable = {
    503: { description: 'A dependency is down; also carries the error envelope' },
  };
  return [
    route({
      method: 'get',
      path: '/api/health',
      operationId: 'health',
      summary: 'Dependency health (no authentication)',
      tag: 'Operations',
      auth: 'public',
      responses: {
        200: { description: 'Every dependency answers', schema: healthSchema },
        ...unavailable,
      },
      handler: report,
    }),
    route({
      method: 'get',
      path: '/api/health/live',
      operationId: 'healthLive',
      summary: 'Liveness: the process is up and serving (no authentication)',
      description: 'Asks no dependency: a dependency outage is no reason to restart the API.',
      tag: 'Operations',
      auth: 'public',
      responses: { 200: { description: 'The process serves requests', schema: liveSchema } },
      handler: (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'ok', ...basics() };
      },
    }),
    route({
      method: 'get',
      path: '/api/health/ready',
      operationId: 'healthReady',
      summary: 'Readiness: send this instance traffic (no authentication)',
      description:
        'As `/api/health`, and 503 while the instance drains on shutdown (`details.draining`).',
      tag: 'Operations',
      auth: 'public',
      responses: {
        200: { description: 'Every dependency answers', schema: healthSchema },
        503: {
          description:
            'A dependency is down or the instance is shutting down; also carries the error envelope',
        },
      },
      handler: async (ctx) => {
        if (!draining()) return report(ctx);
        ctx.set('Cache-Control', 'no-store');
        ctx.status = 503;
        ctx.body = {
          status: 'unavailable',
          ...basics(),
          dependencies: {},
          ...envelope('service_unavailable', 'Shutting down', ctx.state.requestId as string, {
            draining: true,
          }),
        };
      },
    }),
  ];
}
