import { z } from 'zod';
import { route, type AnyRoute } from '../routing/route';
import { pageQuery, pagination } from '../pagination';
import { actorOf } from '../access';
import type { SessionListItem, SessionService } from '../sessions/service';
import { requestKeyOf } from '../middleware/idempotency';
import {
  insightSchema,
  messageSchema,
  noteSchema,
  sessionSchema,
  sessionStatusSchema,
  addNoteRequestSchema,
  createSessionRequestSchema,
  sendMessageRequestSchema,
  type Session,
} from '../../lib/schemas/session';
import { isoDateTime, paginationSchema, timeBoundInput } from '../../lib/schemas/common';

export const sessionIdParams = z.object({
  id: z
    .string()
    .regex(/^s_[a-z0-9]{4,64}$/, 'must be a session id (s_…)')
    .describe('Session id'),
});

const listSessionsQuery = z.object({
  client_id: z.string().max(64).optional().describe('Only this client’s sessions'),
  persona_id: z.string().max(64).optional().describe('Only sessions with this persona'),
  status: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(sessionStatusSchema))
    .optional()
    .describe('Comma-separated statuses, e.g. `active,completed`'),
  from: timeBoundInput.optional().describe('Created at or after (ISO 8601)'),
  to: timeBoundInput.optional().describe('Created at or before (ISO 8601)'),
  ...pageQuery(),
});

const listMessagesQuery = z.object({
  since: timeBoundInput.optional().describe('Only messages after this time (ISO 8601)'),
  ...pageQuery(50),
});

/** The session resource as the spec shows it (internal fields left out). */
const sessionViewSchema = sessionSchema
  .omit({ message_count: true, persona_version: true, owner_id: true })
  .extend({ insights: z.array(insightSchema).optional() });

const sessionSummarySchema = sessionSchema.pick({
  session_id: true,
  client_id: true,
  persona_id: true,
  status: true,
  scheduled_at: true,
  started_at: true,
  ended_at: true,
  duration_minutes: true,
});

const sessionDetailsSchema = sessionViewSchema.extend({
  messages: z.array(messageSchema),
  facilitator_notes: z.array(noteSchema),
});

const startedSchema = z.object({
  session_id: z.string(),
  status: sessionStatusSchema,
  started_at: isoDateTime.optional(),
});
const endedSchema = startedSchema.extend({
  ended_at: isoDateTime.optional(),
  duration_minutes: z.number().int(),
});
const cancelledSchema = z.object({
  session_id: z.string(),
  status: sessionStatusSchema,
  cancelled_at: isoDateTime.optional(),
});

export function sessionView(s: Session): z.output<typeof sessionViewSchema> {
  const {
    message_count: _count,
    persona_version: _v,
    owner_id: _owner,
    series_id,
    cancelled_at,
    ...rest
  } = s;
  return {
    ...rest,
    ...(series_id ? { series_id } : {}),
    ...(cancelled_at ? { cancelled_at } : {}),
  };
}

function sessionSummary(s: SessionListItem): z.output<typeof sessionSummarySchema> {
  return {
    session_id: s.session_id,
    client_id: s.client_id,
    persona_id: s.persona_id,
    status: s.status,
    ...(s.scheduled_at ? { scheduled_at: s.scheduled_at } : {}),
    ...(s.started_at ? { started_at: s.started_at } : {}),
    ...(s.ended_at ? { ended_at: s.ended_at } : {}),
    duration_minutes: s.duration_minutes,
  };
}

export const SESSIONS_PATH = '/api/v1/sessions';

export function sessionRoutes(service: SessionService): AnyRoute[] {
  const tag = 'Sessions';
  const base = SESSIONS_PATH;
  return [
    route({
      method: 'post',
      path: base,
      operationId: 'createSession',
      summary: 'Create a session (scheduled, or starting at once when scheduled_at is absent)',
      tag,
      auth: 'sessions:write',
      audit: { action: 'session.create', resource: 'session' },
      body: createSessionRequestSchema,
      responses: { 201: { description: 'The new session', schema: sessionViewSchema } },
      handler: async (ctx, { body, principal }) => {
        const session = await service.create(body, actorOf(principal));
        ctx.status = 201;
        ctx.set('Location', `${base}/${session.session_id}`);
        ctx.body = sessionView(session);
      },
    }),
    route({
      method: 'get',
      path: base,
      operationId: 'listSessions',
      summary: 'List sessions, newest first',
      tag,
      auth: 'sessions:read',
      query: listSessionsQuery,
      responses: {
        200: {
          description: 'A page of sessions',
          schema: z.object({
            sessions: z.array(sessionSummarySchema),
            pagination: paginationSchema,
          }),
        },
      },
      handler: async (ctx, { query, principal }) => {
        const { items, total } = await service.list(
          query,
          query.page,
          query.limit,
          actorOf(principal),
        );
        ctx.body = {
          sessions: items.map(sessionSummary),
          pagination: pagination(total, query.page, query.limit),
        };
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getSession',
      summary: 'A session with its messages, facilitator notes, summary and insights',
      tag,
      auth: 'sessions:read',
      audit: { action: 'session.read', resource: 'session' },
      params: sessionIdParams,
      responses: { 200: { description: 'The session', schema: sessionDetailsSchema } },
      handler: async (ctx, { params, principal }) => {
        const details = await service.get(params.id, actorOf(principal));
        ctx.body = {
          ...sessionView(details),
          messages: details.messages,
          facilitator_notes: details.facilitator_notes,
        };
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/start`,
      operationId: 'startSession',
      summary: 'Start a scheduled session now; the persona opens',
      tag,
      auth: 'sessions:write',
      params: sessionIdParams,
      errors: [409, 503],
      responses: { 200: { description: 'The session is active', schema: startedSchema } },
      handler: async (ctx, { params, principal }) => {
        const s = await service.start(params.id, actorOf(principal));
        ctx.body = { session_id: s.session_id, status: s.status, started_at: s.started_at };
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/end`,
      operationId: 'endSession',
      summary: 'End an active session; its summary and insights follow',
      tag,
      auth: 'sessions:write',
      audit: { action: 'session.end', resource: 'session' },
      params: sessionIdParams,
      errors: [409, 503],
      responses: { 200: { description: 'The session is completed', schema: endedSchema } },
      handler: async (ctx, { params, principal }) => {
        const s = await service.end(params.id, actorOf(principal));
        ctx.body = {
          session_id: s.session_id,
          status: s.status,
          started_at: s.started_at,
          ended_at: s.ended_at,
          duration_minutes: s.duration_minutes,
        };
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/cancel`,
      operationId: 'cancelSession',
      summary: 'Cancel a scheduled or active session',
      tag,
      auth: 'sessions:write',
      audit: { action: 'session.cancel', resource: 'session' },
      params: sessionIdParams,
      errors: [409, 503],
      responses: { 200: { description: 'The session is cancelled', schema: cancelledSchema } },
      handler: async (ctx, { params, principal }) => {
        const s = await service.cancel(params.id, actorOf(principal));
        ctx.body = { session_id: s.session_id, status: s.status, cancelled_at: s.cancelled_at };
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/messages`,
      operationId: 'sendMessage',
      summary: 'Send a message in an active session',
      description:
        'A client message gets the persona’s reply as a `message.created` event (WebSocket, webhooks). Send it with an `Idempotency-Key`: a retry after a lost answer or a 503 (the runtime did not answer within `temporal.command_timeout_seconds`) is then stored, and answered, once.',
      tag,
      auth: 'sessions:write',
      params: sessionIdParams,
      body: sendMessageRequestSchema,
      errors: [409, 503],
      responses: { 201: { description: 'The stored message', schema: messageSchema } },
      handler: async (ctx, { params, body, principal }) => {
        ctx.status = 201;
        ctx.body = await service.sendMessage(
          params.id,
          body,
          actorOf(principal),
          requestKeyOf(ctx),
        );
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}/messages`,
      operationId: 'listMessages',
      summary: 'A session’s messages in order, paged',
      tag,
      auth: 'sessions:read',
      audit: { action: 'session.transcript_read', resource: 'session' },
      params: sessionIdParams,
      query: listMessagesQuery,
      responses: {
        200: {
          description: 'A page of messages',
          schema: z.object({ messages: z.array(messageSchema), pagination: paginationSchema }),
        },
      },
      handler: async (ctx, { params, query, principal }) => {
        await service.findSession(params.id, actorOf(principal));
        const { items, total } = await service.messagesOf(params.id, query);
        ctx.body = { messages: items, pagination: pagination(total, query.page, query.limit) };
      },
    }),
    route({
      method: 'post',
      path: `${base}/{id}/notes`,
      operationId: 'addNote',
      summary: 'Add a facilitator note',
      tag,
      auth: 'sessions:write',
      audit: { action: 'session.note_add', resource: 'session' },
      params: sessionIdParams,
      body: addNoteRequestSchema,
      errors: [409, 503],
      responses: { 201: { description: 'The stored note', schema: noteSchema } },
      handler: async (ctx, { params, body, principal }) => {
        ctx.status = 201;
        ctx.body = await service.addNote(params.id, body, actorOf(principal), requestKeyOf(ctx));
      },
    }),
  ];
}
