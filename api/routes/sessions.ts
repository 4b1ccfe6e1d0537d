import Router, { type RouterContext } from '@koa/router';
import { z } from 'zod';
import { validate } from '../validate';
import { pageQuery, pagination } from '../pagination';
import type { SessionService, Actor } from '../sessions/service';
import {
  sessionStatusSchema,
  addNoteRequestSchema,
  createSessionRequestSchema,
  sendMessageRequestSchema,
} from '../../lib/schemas/session';
import { isoDateTimeInput } from '../../lib/schemas/common';
import type { Session } from '../../lib/schemas/session';

const sessionIdParam = z.string().regex(/^s_[a-z0-9]{4,64}$/, 'must be a session id (s_…)');

const listSessionsQuery = z.object({
  client_id: z.string().optional(),
  persona_id: z.string().optional(),
  status: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(sessionStatusSchema))
    .optional(),
  /** Created at or after / at or before (ISO 8601). */
  from: isoDateTimeInput.optional(),
  to: isoDateTimeInput.optional(),
  ...pageQuery(),
});

const listMessagesQuery = z.object({
  since: isoDateTimeInput.optional(),
  ...pageQuery(50),
});

/** The session resource as the spec shows it (internal counters left out). */
export function sessionView(s: Session): Record<string, unknown> {
  const { message_count: _count, series_id, persona_version: _v, cancelled_at, ...rest } = s;
  return {
    ...rest,
    ...(series_id ? { series_id } : {}),
    ...(cancelled_at ? { cancelled_at } : {}),
  };
}

/** The list entry as the spec shows it: identity, status and timing. */
function sessionSummary(s: Session): Record<string, unknown> {
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

export function sessionRoutes(
  service: SessionService,
  actorOf: (ctx: RouterContext) => Actor,
): Router {
  const router = new Router({ prefix: '/api/v1/sessions' });
  const id = (ctx: RouterContext) => validate(sessionIdParam, ctx.params.id, 'path');

  router.post('/', async (ctx) => {
    const body = validate(createSessionRequestSchema, ctx.state.body);
    const session = await service.create(body, actorOf(ctx));
    ctx.status = 201;
    ctx.set('Location', `/api/v1/sessions/${session.session_id}`);
    ctx.body = sessionView(session);
  });

  router.get('/', async (ctx) => {
    const q = validate(listSessionsQuery, ctx.query, 'query');
    const { items, total } = await service.list(q, q.page, q.limit);
    ctx.body = {
      sessions: items.map(sessionSummary),
      pagination: pagination(total, q.page, q.limit),
    };
  });

  router.get('/:id', async (ctx) => {
    const details = await service.get(id(ctx));
    ctx.body = {
      ...sessionView(details),
      messages: details.messages,
      facilitator_notes: details.facilitator_notes,
    };
  });

  router.post('/:id/start', async (ctx) => {
    const s = await service.start(id(ctx));
    ctx.body = { session_id: s.session_id, status: s.status, started_at: s.started_at };
  });

  router.post('/:id/end', async (ctx) => {
    const s = await service.end(id(ctx));
    ctx.body = {
      session_id: s.session_id,
      status: s.status,
      started_at: s.started_at,
      ended_at: s.ended_at,
      duration_minutes: s.duration_minutes,
    };
  });

  router.post('/:id/cancel', async (ctx) => {
    const s = await service.cancel(id(ctx));
    ctx.body = { session_id: s.session_id, status: s.status, cancelled_at: s.cancelled_at };
  });

  router.post('/:id/messages', async (ctx) => {
    const sessionId = id(ctx);
    const body = validate(sendMessageRequestSchema, ctx.state.body);
    ctx.status = 201;
    ctx.body = await service.sendMessage(sessionId, body, actorOf(ctx));
  });

  router.get('/:id/messages', async (ctx) => {
    const sessionId = id(ctx);
    const query = validate(listMessagesQuery, ctx.query, 'query');
    await service.findSession(sessionId);
    const { items, total } = await service.messagesOf(sessionId, query);
    ctx.body = {
      messages: items,
      pagination: pagination(total, query.page, query.limit),
    };
  });

  router.post('/:id/notes', async (ctx) => {
    const sessionId = id(ctx);
    const body = validate(addNoteRequestSchema, ctx.state.body);
    await service.findSession(sessionId);
    ctx.status = 201;
    ctx.body = await service.addNote(sessionId, body, actorOf(ctx));
  });

  return router;
}
