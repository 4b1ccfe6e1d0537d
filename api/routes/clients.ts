import Router, { type RouterContext } from '@koa/router';
import { z } from 'zod';
import { validate } from '../validate';
import { pageQuery, pagination } from '../pagination';
import { createClientRequestSchema, updateClientRequestSchema } from '../../lib/schemas/client';
import type { ClientService } from '../clients/service';
import type { Actor } from '../sessions/service';

const clientIdParam = z.string().regex(/^c_[a-z0-9]{4,64}$/, 'must be a client id (c_…)');
const listQuery = z.object({ search: z.string().max(100).optional(), ...pageQuery() });

export function clientRoutes(
  service: ClientService,
  actorOf: (ctx: RouterContext) => Actor,
): Router {
  const router = new Router({ prefix: '/api/v1/clients' });
  const id = (ctx: RouterContext) => validate(clientIdParam, ctx.params.id, 'path');

  router.post('/', async (ctx) => {
    const client = await service.create(
      validate(createClientRequestSchema, ctx.state.body),
      actorOf(ctx),
    );
    ctx.status = 201;
    ctx.set('Location', `/api/v1/clients/${client.client_id}`);
    const { updated_at: _u, ...shown } = client;
    ctx.body = shown;
  });

  router.get('/', async (ctx) => {
    const q = validate(listQuery, ctx.query, 'query');
    const { items, total } = await service.list(q.search, q.page, q.limit);
    ctx.body = {
      clients: items.map((c) => ({
        client_id: c.client_id,
        first_name: c.first_name,
        last_name: c.last_name,
        ...(c.email ? { email: c.email } : {}),
        created_at: c.created_at,
      })),
      pagination: pagination(total, q.page, q.limit),
    };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await service.get(id(ctx));
  });

  const update = async (ctx: RouterContext) => {
    ctx.body = await service.update(id(ctx), validate(updateClientRequestSchema, ctx.state.body));
  };
  router.patch('/:id', update);
  router.put('/:id', update);

  router.delete('/:id', async (ctx) => {
    await service.delete(id(ctx));
    ctx.status = 204;
  });

  return router;
}
