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

/**
 * `GET /api/health`: 200 when Temporal, NATS and MongoDB all answer, else 503 naming the
 * failing ones. The 503 body keeps the per-dependency report and adds the standard error
 * envelope, so monitors and API clients can both read it.
 */
export function healthRoutes(probes: Record<string, Probe>, version: string): AnyRoute[] {
  const startedAt = Date.now();
  return [
    route({
      method: 'get',
      path: '/api/health',
      operationId: 'health',
      summary: 'Liveness and dependency health (no authentication)',
      tag: 'Operations',
      auth: 'public',
      responses: {
        200: { description: 'Every dependency answers', schema: healthSchema },
        503: { description: 'A dependency is down; also carries the error envelope' },
      },
      handler: async (ctx) => {
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
            { failing },
          ),
        };
      },
    }),
  ];
}
