/**
 * Session payloads: one zod schema per payload gives the TypeScript type, the runtime check of
 * REST bodies and WebSocket frames, and (later) the OpenAPI document.
 */
import { z } from 'zod';
import { isoDateTime, isoDateTimeInput, metadataSchema } from './common';

export const SESSION_STATUSES = ['scheduled', 'active', 'completed', 'cancelled'] as const;
export const sessionStatusSchema = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

export const SENDER_TYPES = ['client', 'persona', 'facilitator'] as const;
export const senderTypeSchema = z.enum(SENDER_TYPES);

export const messageSchema = z.object({
  id: z.string(),
  session_id: z.string(),
  sender_type: senderTypeSchema,
  sender_id: z.string(),
  content: z.string(),
  timestamp: isoDateTime,
  metadata: metadataSchema.optional(),
});
export type Message = z.infer<typeof messageSchema>;

export const noteSchema = z.object({
  id: z.string(),
  content: z.string(),
  timestamp: isoDateTime,
  author: z.string(),
});
export type Note = z.infer<typeof noteSchema>;

export const insightSchema = z.object({
  type: z.string(),
  text: z.string(),
  confidence: z.number().min(0).max(1),
  evidence: z
    .array(z.object({ message_id: z.string(), excerpt: z.string() }))
    .optional()
    .describe('The client messages the insight was read from, with the words that show it.'),
});
export type Insight = z.infer<typeof insightSchema>;

/** What the create request fixes; the workflow owns everything that changes afterwards. */
export const sessionSpecSchema = z.object({
  session_id: z.string(),
  client_id: z.string(),
  persona_id: z.string(),
  persona_version: z.number().int().optional(),
  goals: z.array(z.string()),
  duration_minutes: z.number().int(),
  scheduled_at: isoDateTime.optional(),
  created_at: isoDateTime,
  created_by: z.string(),
  /** The user whose facilitator view includes this session (internal; not in responses). */
  owner_id: z.string().optional(),
  series_id: z.string().optional(),
  metadata: metadataSchema,
});
export type SessionSpec = z.infer<typeof sessionSpecSchema>;

export const sessionSchema = sessionSpecSchema.extend({
  status: sessionStatusSchema,
  started_at: isoDateTime.optional(),
  ended_at: isoDateTime.optional(),
  cancelled_at: isoDateTime.optional(),
  message_count: z.number().int().optional(),
  summary: z.string().optional(),
  insights: z.array(insightSchema).optional(),
});
export type Session = z.infer<typeof sessionSchema>;

// ---- requests ----

const MAX_DURATION_MINUTES = 8 * 60;

export const createSessionRequestSchema = z.object({
  client_id: z.string().min(1).max(64),
  persona_id: z.string().min(1).max(64),
  goals: z.array(z.string().min(1).max(500)).max(20).default([]),
  duration_minutes: z.number().int().min(1).max(MAX_DURATION_MINUTES).default(45),
  scheduled_at: isoDateTimeInput.optional(),
  metadata: metadataSchema.default({}),
});
export type CreateSessionRequest = z.infer<typeof createSessionRequestSchema>;

export const MAX_MESSAGE_CHARS = 10_000;

export const sendMessageRequestSchema = z.object({
  content: z.string().trim().min(1).max(MAX_MESSAGE_CHARS),
  sender_type: senderTypeSchema.default('client'),
  metadata: metadataSchema.optional(),
});
export type SendMessageRequest = z.infer<typeof sendMessageRequestSchema>;

export const addNoteRequestSchema = z.object({
  content: z.string().trim().min(1).max(MAX_MESSAGE_CHARS),
});
export type AddNoteRequest = z.infer<typeof addNoteRequestSchema>;
