import Router, { type RouterContext } from '@koa/router';
import { z } from 'zod';
import { validate } from '../validate';
import { pageQuery, pagination } from '../pagination';
import { createSeriesRequestSchema } from '../../lib/schemas/series';
import type { SeriesService } from '../series/service';
import type { Actor } from '../sessions/service';

const seriesIdParam = z.string().regex(/^sr_[a-z0-9]{4,64}$/, 'must be a series id (sr_…)');
const listQuery = z.object({
  client_id: z.string().optional(),
  ...pageQuery(),
});

export function seriesRoutes(
  service: SeriesService,
  actorOf: (ctx: RouterContext) => Actor,
): Router {
  const router = new Router({ prefix: '/api/v1/session-series' });
  const id = (ctx: RouterContext) => validate(seriesIdParam, ctx.params.id, 'path');

  router.post('/', async (ctx) => {
    const body = validate(createSeriesRequestSchema, ctx.state.body);
    const series = await service.create(body, actorOf(ctx));
    ctx.status = 201;
    ctx.set('Location', `/api/v1/session-series/${series.series_id}`);
    ctx.body = series;
  });

  router.get('/', async (ctx) => {
    const q = validate(listQuery, ctx.query, 'query');
    const { items, total } = await service.list(q, q.page, q.limit);
    ctx.body = {
      series: items,
      pagination: pagination(total, q.page, q.limit),
    };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await service.get(id(ctx));
  });

  router.post('/:id/pause', async (ctx) => {
    ctx.body = await service.pause(id(ctx), actorOf(ctx));
  });

  router.post('/:id/resume', async (ctx) => {
    ctx.body = await service.resume(id(ctx), actorOf(ctx));
  });

  router.delete('/:id', async (ctx) => {
    await service.delete(id(ctx));
    ctx.status = 204;
  });

  return router;
}
