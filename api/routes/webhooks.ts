import { z } from 'zod';
import { route, type AnyRoute } from '../routing/route';
import { pageQuery } from '../pagination';
import { actorOf } from '../access';
import type { WebhookService } from '../webhooks/service';
import {
  WEBHOOK_DELIVERY_ID,
  createWebhookRequestSchema,
  createWebhookResponseSchema,
  redeliveryResponseSchema,
  webhookDeliveryListResponseSchema,
  webhookDeliverySchema,
  webhookListResponseSchema,
  webhookSchema,
} from '../../lib/schemas/webhook';

const webhookIdParams = z.object({
  id: z
    .string()
    .regex(/^wh_[a-z0-9]{4,64}$/, 'must be a webhook id (wh_…)')
    .describe('Webhook id'),
});
const deliveryParams = webhookIdParams.extend({
  delivery_id: z
    .string()
    .regex(WEBHOOK_DELIVERY_ID, 'must be a delivery id (whd_…)')
    .describe('Delivery (attempt) id'),
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
      audit: { action: 'webhook.create', resource: 'webhook' },
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
      method: 'get',
      path: `${base}/{id}/deliveries`,
      operationId: 'listWebhookDeliveries',
      summary: 'Delivery attempts to a webhook, newest first',
      description:
        'Every attempt is listed: its event, attempt number, the status the receiver answered or the error, its duration and, for a failed attempt that will be retried, when.',
      tag,
      auth: 'webhooks:read',
      params: webhookIdParams,
      query: listQuery,
      responses: {
        200: { description: 'A page of attempts', schema: webhookDeliveryListResponseSchema },
      },
      handler: async (ctx, { params, query, principal }) => {
        ctx.body = await service.listDeliveries(
          params.id,
          query.page,
          query.limit,
          actorOf(principal),
        );
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/deliveries/{delivery_id}/redeliver`,
      operationId: 'redeliverWebhookDelivery',
      summary: 'Send the event of an earlier attempt again',
      description:
        'Queues a new delivery of the same event (same `X-Event-Id`, freshly signed); a dispatcher sends it shortly and it appears in the deliveries list.',
      tag,
      auth: 'webhooks:write',
      audit: { action: 'webhook.redeliver', resource: 'webhook' },
      params: deliveryParams,
      responses: { 202: { description: 'Queued', schema: redeliveryResponseSchema } },
      errors: [409],
      handler: async (ctx, { params, principal }) => {
        ctx.body = await service.redeliver(params.id, params.delivery_id, actorOf(principal));
        ctx.status = 202;
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/ping`,
      operationId: 'pingWebhook',
      summary: 'Send a signed `ping` event now and answer with the attempt',
      description:
        'The receiver gets `{ "event": "ping", "timestamp", "data": { "webhook_id", "events" } }`, signed like every delivery. A failed ping does not count against the webhook.',
      tag,
      auth: 'webhooks:write',
      params: webhookIdParams,
      responses: { 200: { description: 'The attempt', schema: webhookDeliverySchema } },
      handler: async (ctx, { params, principal }) => {
        ctx.body = await service.ping(params.id, actorOf(principal));
      },
    }),
    route({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteWebhook',
      summary: 'Stop delivering to a webhook and forget it',
      tag,
      auth: 'webhooks:write',
      audit: { action: 'webhook.delete', resource: 'webhook' },
      params: webhookIdParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async (ctx, { params, principal }) => {
        await service.delete(params.id, actorOf(principal));
        ctx.status = 204;
      },
    }),
  ];
}
