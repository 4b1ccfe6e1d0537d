/**
 * Webhook registrations: an app names a URL and the lifecycle events it wants delivered there.
 * The event names are the ones in ./events.ts (read from its union, so a new event is
 * subscribable as soon as it exists), plus `*` for every event.
 */
import { z } from 'zod';
import { isoDateTime, paginationSchema } from './common';
import { lifecycleEventSchema, type EventName } from './events';

export const WEBHOOK_WILDCARD = '*';

/** Every lifecycle event a webhook can subscribe to, in the order events.ts declares them. */
export const WEBHOOK_EVENT_NAMES = lifecycleEventSchema.options.map(
  (option) => option.shape.event.value,
) as [EventName, ...EventName[]];

export const webhookEventSchema = z
  .enum([...WEBHOOK_EVENT_NAMES, WEBHOOK_WILDCARD])
  .describe('A lifecycle event name, or `*` for every event.');
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

export const WEBHOOK_URL_MAX_CHARS = 2048;
export const WEBHOOK_SECRET_MIN_CHARS = 16;
export const WEBHOOK_SECRET_MAX_CHARS = 256;

const webhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(WEBHOOK_URL_MAX_CHARS)
  .describe('Where events are POSTed; http or https.')
  .meta({ example: 'https://your-system.example.com/webhook' });

const webhookEvents = z
  .array(webhookEventSchema)
  .min(1, 'name at least one event')
  .refine((events) => new Set(events).size === events.length, {
    message: 'must not repeat an event',
  })
  .describe('The events to deliver; `*` subscribes to all of them.')
  .meta({ example: ['session.started', 'session.ended', 'client.created'] });

export const webhookStatusSchema = z.enum(['active', 'disabled']);
export type WebhookStatus = z.infer<typeof webhookStatusSchema>;

export const createWebhookRequestSchema = z
  .object({
    url: webhookUrl,
    events: webhookEvents,
    secret: z
      .string()
      .min(WEBHOOK_SECRET_MIN_CHARS)
      .max(WEBHOOK_SECRET_MAX_CHARS)
      .optional()
      .describe(
        'Shared secret the deliveries are signed with. Omit it to have one generated; it is ' +
          'returned once, in the create response, and never shown again.',
      )
      .meta({ example: 'your_webhook_secret' }),
  })
  .meta({
    example: {
      url: 'https://your-system.example.com/webhook',
      events: ['session.started', 'session.ended', 'client.created'],
      secret: 'your_webhook_secret',
    },
  });
export type CreateWebhookRequest = z.infer<typeof createWebhookRequestSchema>;

export const webhookSchema = z
  .object({
    webhook_id: z.string().meta({ example: 'wh_k3j9x2m4p7q1r8s5' }),
    url: z.string(),
    events: z.array(webhookEventSchema),
    created_at: isoDateTime,
    status: webhookStatusSchema.describe('Only active webhooks receive deliveries.'),
    created_by: z.string().describe('Who registered the webhook.'),
  })
  .meta({
    example: {
      webhook_id: 'wh_k3j9x2m4p7q1r8s5',
      url: 'https://your-system.example.com/webhook',
      events: ['session.started', 'session.ended', 'client.created'],
      created_at: '2025-05-11T12:00:00Z',
      status: 'active',
      created_by: 'u_3f9a1c2b7d4e5f60',
    },
  });
export type Webhook = z.infer<typeof webhookSchema>;

/** The create answer: the webhook, plus the secret when the server generated it (this once only). */
export const createWebhookResponseSchema = webhookSchema.extend({
  secret: z
    .string()
    .optional()
    .describe(
      'The generated signing secret, present only when the request named none. Store it now.',
    ),
});
export type CreateWebhookResponse = z.infer<typeof createWebhookResponseSchema>;

export const webhookListResponseSchema = z.object({
  webhooks: z.array(webhookSchema),
  pagination: paginationSchema,
});
export type WebhookList = z.infer<typeof webhookListResponseSchema>;
