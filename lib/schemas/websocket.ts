/**
 * WebSocket frames (`/ws`): every frame is `{ type, id, data }` as the spec shows. Client frames
 * are checked by these schemas; server frames are typed here so the gateway and tests agree.
 */
import { z } from 'zod';
import { IDEMPOTENCY_KEY_PATTERN, metadataSchema } from './common';
import { MAX_MESSAGE_CHARS, senderTypeSchema, type Message, type SessionStatus } from './session';
import type { LifecycleEvent } from './events';

type AlertRaised = Extract<LifecycleEvent, { event: 'alert.raised' }>;

const frameId = z.string().min(1).max(128).optional();
const sessionId = z.string().min(1).max(64);

export const clientFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('auth'),
    id: frameId,
    data: z.object({ token: z.string().min(1).max(4096) }),
  }),
  z.object({
    type: z.literal('join_session'),
    id: frameId,
    data: z.object({
      session_id: sessionId,
      /** Resume: every event of the session after this stream sequence is replayed first. */
      since: z.number().int().min(0).optional(),
    }),
  }),
  z.object({
    type: z.literal('leave_session'),
    id: frameId,
    data: z.object({ session_id: sessionId }),
  }),
  z.object({
    type: z.literal('send_message'),
    id: frameId,
    data: z.object({
      session_id: sessionId,
      content: z.string().trim().min(1).max(MAX_MESSAGE_CHARS),
      sender_type: senderTypeSchema.default('client'),
      metadata: metadataSchema.optional(),
      /**
       * As REST's Idempotency-Key: a frame sent again with it (after a dropped socket, say) is
       * stored and answered once, also when the retry goes over REST with the same key.
       */
      idempotency_key: z
        .string()
        .regex(IDEMPOTENCY_KEY_PATTERN, 'must be 8 to 128 letters, digits or . _ : -')
        .optional(),
    }),
  }),
  z.object({
    type: z.literal('typing_indicator'),
    id: frameId,
    data: z.object({
      session_id: sessionId,
      sender_type: senderTypeSchema.default('client'),
      is_typing: z.boolean(),
    }),
  }),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = clientFrameSchema.options.map(
  (o) => o.shape.type.value,
);

/** The spec's WebSocket error codes. */
export const WS_ERROR_CODES = [
  'authentication_error',
  'permission_denied',
  'session_not_found',
  'invalid_request',
  'rate_limited',
  'internal_error',
] as const;
export type WsErrorCode = (typeof WS_ERROR_CODES)[number];

/** Close codes the server uses besides the standard ones (1001 going away, 1009 too big). */
export const WS_CLOSE = {
  goingAway: 1001,
  tooBig: 1009,
  /** No valid credentials (none within the auth timeout, or a rejected token). */
  authentication: 4001,
  /** The socket's send buffer passed `websocket.max_buffered_bytes`: reconnect and resume. */
  slowConsumer: 4008,
} as const;

export interface SessionUpdateData {
  session_id: string;
  status: SessionStatus;
  /** The lifecycle event behind the update, e.g. `session.started`. */
  event: string;
  /** JetStream stream sequence of the event: the resume cursor for `join_session.since`. */
  seq: number;
  [field: string]: unknown;
}

export type ServerFrame =
  | { type: 'session_update'; id: string; data: SessionUpdateData }
  | {
      type: 'new_message';
      id: string;
      data: { session_id: string; message: Message; seq: number };
    }
  | {
      type: 'alert';
      id: string;
      /** For the facilitator: a risk the screen found in a client message (`alert.raised`). */
      data: { session_id: string; alert: AlertRaised['data']['alert']; seq: number };
    }
  | {
      type: 'typing_indicator';
      id: string;
      data: {
        session_id: string;
        sender_type: string;
        sender_id: string;
        is_typing: boolean;
        timestamp: string;
      };
    }
  | {
      /** A piece of a persona reply as it is written; `new_message` with `message_id` follows. */
      type: 'message_delta';
      id: string;
      data: {
        session_id: string;
        message_id: string;
        /** Restarts with `index` 0 when the reply is written again (a retried activity). */
        attempt: number;
        index: number;
        delta: string;
      };
    }
  | {
      /** The configured LLM failed and the local engine wrote the reply `message_id`. */
      type: 'persona_fallback';
      id: string;
      data: {
        session_id: string;
        message_id: string;
        provider: string;
        model: string;
        reason: string;
        seq: number;
      };
    }
  | {
      type: 'error';
      id: string;
      data: {
        code: WsErrorCode;
        message: string;
        request_id: string | null;
        details?: Record<string, unknown>;
      };
    }
  | { type: 'ack'; id: string; data: { request_id: string | null; [field: string]: unknown } };
