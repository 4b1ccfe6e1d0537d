import { z } from 'zod';
import { route, type AnyRoute } from '../routing/route';
import { pageQuery } from '../pagination';
import { actorOf } from '../access';
import type { WebhookService } from '../webhooks/service';
import {
  createWebhookRequestSchema,
  createWebhookResponseSchema,
  webhookListResponseSchema,
  webhookSchema,
} from '../../lib/schemas/webhook';

const webhookIdParams = z.object({
  id: z
    .string()
    .regex(/^wh_[a-z0-9]{4,64}$/, 'must be a webhook id (wh_…)')
    .describe('Webhook id'),
});
const listQuery = z.object({ ...pageQuery() });

export function webhookRoutes(service: WebhookService): AnyRoute[] {
  const tag = 'Webhooks';
  const base = '/api/v1/webhooks';
  return [
    route({
      method: 'post',
      path: base,
      operationId: 'registerWebhook',
      summary: 'Register a URL for lifecycle events (signed with the webhook’s secret)',
      description:
        'Without a `secret` one is generated and returned once, in this response; it is never shown again.',
      tag,
      auth: 'webhooks:write',
      body: createWebhookRequestSchema,
      responses: { 201: { description: 'The webhook', schema: createWebhookResponseSchema } },
      handler: async (ctx, { body, principal }) => {
        const webhook = await service.create(body, actorOf(principal));
        ctx.status = 201;
        ctx.set('Location', `${base}/${webhook.webhook_id}`);
        ctx.body = webhook;
      },
    }),
    route({
      method: 'get',
      path: base,
      operationId: 'listWebhooks',
      summary: 'List webhooks, newest first',
      tag,
      auth: 'webhooks:read',
      query: listQuery,
      responses: { 200: { description: 'A page of webhooks', schema: webhookListResponseSchema } },
      handler: async (ctx, { query, principal }) => {
        ctx.body = await service.list(query.page, query.limit, actorOf(principal));
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getWebhook',
      summary: 'A webhook (never its secret)',
      tag,
      auth: 'webhooks:read',
      params: webhookIdParams,
      responses: { 200: { description: 'The webhook', schema: webhookSchema } },
      handler: async (ctx, { params, principal }) => {
        ctx.body = await service.get(params.id, actorOf(principal));
      },
    }),
    route({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteWebhook',
      summary: 'Stop delivering to a webhook and forget it',
      tag,
      auth: 'webhooks:write',
      params: webhookIdParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async (ctx, { params, principal }) => {
        await service.delete(params.id, actorOf(principal));
        ctx.status = 204;
      },
    }),
  ];
}
