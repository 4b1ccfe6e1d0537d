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

/** `session.*`, `message.*`…: every event of one entity, present and future. */
export const WEBHOOK_PREFIX_WILDCARDS = [
  ...new Set(WEBHOOK_EVENT_NAMES.map((name) => `${name.split('.')[0]!}.*`)),
] as [string, ...string[]];

export const webhookEventSchema = z
  .enum([...WEBHOOK_EVENT_NAMES, ...WEBHOOK_PREFIX_WILDCARDS, WEBHOOK_WILDCARD])
  .describe('A lifecycle event name, `<entity>.*` (e.g. `session.*`), or `*` for every event.');
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** The subscriptions that match an event: its name, its entity's wildcard and `*`. */
export function subscriptionsMatching(event: string): string[] {
  return [event, `${event.split('.')[0]!}.*`, WEBHOOK_WILDCARD];
}

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

export const webhookStatusSchema = z
  .enum(['active', 'failing', 'disabled'])
  .describe(
    '`failing` after a run of failed deliveries (still delivered to); `disabled` after a longer run (no deliveries).',
  );
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
    status: webhookStatusSchema,
    created_by: z.string().describe('Who registered the webhook.'),
    consecutive_failures: z
      .number()
      .int()
      .optional()
      .describe('Failed delivery attempts since the last success.'),
    disabled_at: isoDateTime.optional().describe('When a run of failures disabled it.'),
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

export const WEBHOOK_DELIVERY_ID = /^whd_[a-z0-9]{4,64}$/;

/** One HTTP attempt to deliver one event to one webhook. */
export const webhookDeliverySchema = z
  .object({
    delivery_id: z.string().meta({ example: 'whd_9x2m4p7q1r8s5k3j' }),
    webhook_id: z.string(),
    event_id: z.string().describe('Also sent as `X-Event-Id`; the same for every attempt.'),
    event: z.string(),
    trigger: z
      .enum(['event', 'redeliver', 'ping'])
      .describe('What caused the attempt: the event itself, a redelivery request, or a ping.'),
    attempt: z.number().int().min(1).describe('1 for the first attempt of this delivery.'),
    success: z.boolean().describe('The receiver answered 2xx.'),
    status_code: z
      .number()
      .int()
      .optional()
      .describe("The receiver's HTTP status, if it answered."),
    error: z.string().optional().describe('Why the attempt failed, when it did.'),
    duration_ms: z.number().int(),
    started_at: isoDateTime,
    completed_at: isoDateTime,
    next_retry_at: isoDateTime
      .optional()
      .describe('When the next attempt is due, if the attempt failed and retries remain.'),
  })
  .meta({
    example: {
      delivery_id: 'whd_9x2m4p7q1r8s5k3j',
      webhook_id: 'wh_k3j9x2m4p7q1r8s5',
      event_id: 'evt_3c1f0a9b2d4e6f8a1b2c3d4e',
      event: 'session.ended',
      trigger: 'event',
      attempt: 1,
      success: true,
      status_code: 200,
      duration_ms: 42,
      started_at: '2025-05-11T13:45:00Z',
      completed_at: '2025-05-11T13:45:00Z',
    },
  });
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const webhookDeliveryListResponseSchema = z.object({
  deliveries: z.array(webhookDeliverySchema),
  pagination: paginationSchema,
});
export type WebhookDeliveryList = z.infer<typeof webhookDeliveryListResponseSchema>;

export const redeliveryResponseSchema = z.object({
  webhook_id: z.string(),
  event_id: z.string(),
  event: z.string(),
  status: z.literal('queued').describe('A dispatcher sends it shortly; see the deliveries list.'),
});
export type Redelivery = z.infer<typeof redeliveryResponseSchema>;

/** The body POSTed to a webhook: the spec's payload. */
export interface WebhookPayload {
  event: string;
  timestamp: string;
  data: unknown;
}
