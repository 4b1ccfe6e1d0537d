/**
 * Lifecycle events: what goes on NATS (`ss.events.<entity>.<id>.<event>`), to WebSocket clients
 * and to webhooks. A discriminated union on `event`; the envelope is the spec's webhook payload
 * (`event`, `timestamp`, `data`) plus a deterministic `event_id` used for deduplication.
 */
import { z } from 'zod';
import { isoDateTime } from './common';
import { ALERT_SEVERITIES, RISK_CATEGORIES } from './safety';
import {
  insightSchema,
  messageSchema,
  noteSchema,
  senderTypeSchema,
  sessionStatusSchema,
} from './session';

const sessionRef = {
  session_id: z.string(),
  client_id: z.string(),
  persona_id: z.string(),
};

const sessionData = z.object({
  ...sessionRef,
  status: sessionStatusSchema,
  scheduled_at: isoDateTime.optional(),
  started_at: isoDateTime.optional(),
  ended_at: isoDateTime.optional(),
  cancelled_at: isoDateTime.optional(),
  duration_minutes: z.number(),
  goals: z.array(z.string()).optional(),
  summary: z.string().optional(),
  insights: z.array(insightSchema).optional(),
});
export type SessionEventData = z.infer<typeof sessionData>;

const envelope = <E extends string, D extends z.ZodType>(event: E, data: D) =>
  z.object({ event_id: z.string(), event: z.literal(event), timestamp: isoDateTime, data });

export const lifecycleEventSchema = z.discriminatedUnion('event', [
  envelope('session.scheduled', sessionData),
  envelope('session.started', sessionData),
  envelope('session.ended', sessionData),
  envelope('session.cancelled', sessionData),
  envelope('message.created', z.object({ ...sessionRef, message: messageSchema })),
  envelope('note.added', z.object({ ...sessionRef, note: noteSchema })),
  envelope(
    'alert.raised',
    z.object({
      ...sessionRef,
      alert: z.object({
        alert_id: z.string(),
        type: z.string().describe('What was noticed, e.g. `risk_language`.'),
        severity: z.enum(ALERT_SEVERITIES),
        categories: z
          .array(z.enum(RISK_CATEGORIES))
          .optional()
          .describe('For risk alerts: what the words suggest, most severe first.'),
        message: z.string(),
        message_id: z.string().optional().describe('The message that raised it, if any.'),
        raised_at: isoDateTime,
      }),
    }),
  ),
  envelope(
    'persona.fallback',
    // Why a reply came from the local engine rather than the configured LLM; published before
    // the reply's message.created, under the same message id.
    z.object({
      ...sessionRef,
      message_id: z.string().describe('The reply the local engine wrote instead.'),
      provider: z.string().describe('The provider that failed: `openai` or `anthropic`.'),
      model: z.string(),
      reason: z
        .string()
        .describe(
          'A short code: `timeout`, `first_token_timeout`, `connect_error`, `http_<status>`, `stream_error`, `malformed_stream`, `stream_cut`, `empty_reply`.',
        ),
    }),
  ),
  envelope(
    'client.created',
    // Identity only: personal details stay behind the API's access control.
    z.object({ client_id: z.string(), created_at: isoDateTime, created_by: z.string() }),
  ),
]);
export type LifecycleEvent = z.infer<typeof lifecycleEventSchema>;
export type EventName = LifecycleEvent['event'];
export type SessionEventName = Extract<EventName, `session.${string}`>;

/** Ephemeral: core NATS on `ss.live.session.<id>.typing`, never stored. */
export const typingEventSchema = z.object({
  session_id: z.string(),
  sender_type: senderTypeSchema,
  sender_id: z.string(),
  is_typing: z.boolean(),
  timestamp: isoDateTime,
});
export type TypingEvent = z.infer<typeof typingEventSchema>;

/**
 * Ephemeral: core NATS on `ss.live.session.<id>.delta`, never stored. A piece of a persona reply
 * as an LLM streams it; the reply itself follows as `message.created` with the same message id.
 * `index` counts from 0 within one attempt of the reply activity; a retried activity streams the
 * reply again from index 0 with a higher `attempt`, so a client drops what it had gathered.
 */
export const messageDeltaEventSchema = z.object({
  session_id: z.string(),
  message_id: z.string(),
  attempt: z.number().int().min(1),
  index: z.number().int().min(0),
  delta: z.string(),
  timestamp: isoDateTime,
});
export type MessageDeltaEvent = z.infer<typeof messageDeltaEventSchema>;
