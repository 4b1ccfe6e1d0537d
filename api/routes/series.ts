import { z } from 'zod';
import { route, type AnyRoute } from '../routing/route';
import { pageQuery, pagination } from '../pagination';
import { actorOf } from '../access';
import { createSeriesRequestSchema, seriesSchema } from '../../lib/schemas/series';
import { paginationSchema } from '../../lib/schemas/common';
import type { SeriesService } from '../series/service';

const seriesIdParams = z.object({
  id: z
    .string()
    .regex(/^sr_[a-z0-9]{4,64}$/, 'must be a series id (sr_…)')
    .describe('Series id'),
});
const listQuery = z.object({
  client_id: z.string().max(64).optional().describe('Only this client’s series'),
  ...pageQuery(),
});
const seriesViewSchema = seriesSchema.omit({ owner_id: true });

export function seriesRoutes(service: SeriesService): AnyRoute[] {
  const tag = 'Session series';
  const base = '/api/v1/session-series';
  const toggle = (action: 'pause' | 'resume') =>
    route({
      method: 'post',
      path: `${base}/{id}/${action}`,
      operationId: `${action}Series`,
      summary: action === 'pause' ? 'Stop creating sessions for now' : 'Create sessions again',
      tag,
      auth: 'sessions:write',
      params: seriesIdParams,
      responses: { 200: { description: 'The series', schema: seriesViewSchema } },
      handler: async (ctx, { params, principal }) => {
        ctx.body = await service[action](params.id, actorOf(principal));
      },
    });

  return [
    route({
      method: 'post',
      path: base,
      operationId: 'createSeries',
      summary: 'Schedule recurring sessions (a Temporal Schedule creates one per occurrence)',
      tag,
      auth: 'sessions:write',
      audit: { action: 'series.create', resource: 'series' },
      body: createSeriesRequestSchema,
      responses: { 201: { description: 'The new series', schema: seriesViewSchema } },
      handler: async (ctx, { body, principal }) => {
        const series = await service.create(body, actorOf(principal));
        ctx.status = 201;
        ctx.set('Location', `${base}/${series.series_id}`);
        ctx.body = series;
      },
    }),
    route({
      method: 'get',
      path: base,
      operationId: 'listSeries',
      summary: 'List session series, newest first',
      tag,
      auth: 'sessions:read',
      query: listQuery,
      responses: {
        200: {
          description: 'A page of series',
          schema: z.object({ series: z.array(seriesViewSchema), pagination: paginationSchema }),
        },
      },
      handler: async (ctx, { query, principal }) => {
        const { items, total } = await service.list(
          query,
          query.page,
          query.limit,
          actorOf(principal),
        );
        ctx.body = { series: items, pagination: pagination(total, query.page, query.limit) };
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getSeries',
      summary: 'A series with its next occurrences',
      tag,
      auth: 'sessions:read',
      params: seriesIdParams,
      responses: { 200: { description: 'The series', schema: seriesViewSchema } },
      handler: async (ctx, { params, principal }) => {
        ctx.body = await service.get(params.id, actorOf(principal));
      },
    }),
    toggle('pause'),
    toggle('resume'),
    route({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteSeries',
      summary: 'Stop the series; sessions it created stay',
      tag,
      auth: 'sessions:write',
      audit: { action: 'series.delete', resource: 'series' },
      params: seriesIdParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async (ctx, { params, principal }) => {
        await service.delete(params.id, actorOf(principal));
        ctx.status = 204;
      },
    }),
  ];
}
