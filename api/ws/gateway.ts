/**
 * The WebSocket API at `/ws`: the `ws` package in `noServer` mode on the API's own http server
 * (its `upgrade` event), so the server's start/stop owns the sockets too — stop closes them with
 * 1001. koa-websocket would have wanted to own `listen()`.
 *
 * A socket authenticates with `Authorization: Bearer …` on the upgrade, a `token` query
 * parameter (browsers cannot set headers), or an `auth` frame within `auth_timeout_seconds`.
 * An API key that must sign its requests signs the upgrade: `X-Signature-Timestamp` and
 * `X-Signature` over the timestamp and an empty body, beside its `Authorization` or `?token=`;
 * in an `auth` frame such a key is refused, since a frame has no place for a signature.
 * Frames of one socket are handled one after another, so a client's messages are stored in the
 * order it sent them; what one socket sends never touches another socket's streams.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/log';
import type { Bus } from '../../lib/bus';
import type { AuthService } from '../../lib/auth/sessions';
import type { AuditLog } from '../../lib/audit';
import { SignatureRejectedError, type SignedRequest } from '../../lib/auth/request-signing';
import type { Principal, Scope } from '../../lib/auth/roles';
import { AppError, AuthenticationError, PermissionDeniedError } from '../../lib/errors';
import { randomToken } from '../../lib/ids';
import {
  CLIENT_FRAME_TYPES,
  WS_CLOSE,
  clientFrameSchema,
  type ClientFrame,
  type ServerFrame,
  type WsErrorCode,
} from '../../lib/schemas/websocket';
import { actorOf, type Actor } from '../access';
import type { SessionService } from '../sessions/service';
import { SESSIONS_PATH } from '../routes/sessions';
import { callerOf, scopedRequestKey } from '../middleware/idempotency';
import { Membership, SessionFanout, publishTypingFrom, type SocketSink } from './fanout';
import { assertAllowedAddress, requestIp } from '../limits/addresses';
import { recordSignatureRejection, signedRequestOf } from '../signed-requests';

export const WS_PATH = '/ws';
/** Frames a socket may have waiting to be handled; more is flooding. */
const MAX_QUEUED_FRAMES = 64;
/** Sessions one socket may follow at once. */
const MAX_JOINED_SESSIONS = 100;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

export interface WsGatewayDeps {
  config: Config;
  log: Logger;
  bus: Bus;
  auth: AuthService;
  sessions: SessionService;
  /** Where refused request signatures are recorded. */
  audit?: AuditLog;
  /** Runs a frame's work with its Temporal calls cancelled at shutdown (TemporalHandle). */
  cancellable?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface WsGateway {
  start(): Promise<void>;
  /** For the http server's `upgrade` event. */
  handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Refuses new sockets, closes open ones with 1001 and stops following events. */
  close(graceMs?: number): Promise<void>;
  /** Sockets open now, signed in or not. */
  openSockets: () => number;
}

interface Joined {
  membership: Membership;
  client_id: string;
  persona_id: string;
}

class Connection implements SocketSink {
  readonly id = `ws_${randomToken(16)}`;
  principal: Principal | undefined;
  /** The credentials it signed in with, checked again at every heartbeat. */
  token: string | undefined;
  actor: Actor | undefined;
  alive = true;
  queued = 0;
  chain: Promise<void> = Promise.resolve();
  authTimer: NodeJS.Timeout | undefined;
  readonly joined = new Map<string, Joined>();

  constructor(
    readonly ws: WebSocket,
    private readonly maxBuffered: number,
    private readonly log: Logger,
    /** The client address, for API keys limited to some addresses. */
    readonly ip: string,
  ) {}

  sendText(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount + text.length > this.maxBuffered) {
      this.log.info({ socket: this.id }, 'websocket closed: slow consumer');
      this.ws.close(
        WS_CLOSE.slowConsumer,
        'slow consumer: send buffer full; reconnect and join with since',
      );
      // A reader that stopped reading never completes the close handshake.
      setTimeout(() => this.ws.terminate(), 5_000).unref();
      return;
    }
    this.ws.send(text);
  }

  send(frame: ServerFrame): void {
    this.sendText(JSON.stringify(frame));
  }

  error(
    requestId: string | null | undefined,
    code: WsErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ): void {
    this.send({
      type: 'error',
      id: serverFrameId(),
      data: { code, message, request_id: requestId ?? null, ...(details ? { details } : {}) },
    });
  }

  ack(requestId: string | undefined, data: Record<string, unknown>): void {
    this.send({
      type: 'ack',
      id: serverFrameId(),
      data: { request_id: requestId ?? null, ...data },
    });
  }
}

const serverFrameId = () => `srv_${randomToken(12)}`;

export function createWsGateway({
  config,
  log,
  bus,
  auth,
  sessions,
  audit,
  cancellable = (fn) => fn(),
}: WsGatewayDeps): WsGateway {
  const settings = config.websocket;
  const fanout = new SessionFanout(bus, log);
  const wss = new WebSocketServer({
    noServer: true,
    // Frames up to max_frame_bytes are handled; up to 16× that get an error frame; beyond, 1009.
    maxPayload: settings.max_frame_bytes * 16,
    perMessageDeflate: false,
  });
  const connections = new Set<Connection>();
  let closing = false;
  let heartbeat: NodeJS.Timeout | undefined;

  const authenticate = async (
    token: string,
    ip: string,
    request?: SignedRequest,
  ): Promise<Principal> => {
    let principal: Principal;
    try {
      principal = await auth.authenticate(token, request);
    } catch (err) {
      if (err instanceof SignatureRejectedError && audit) {
        await recordSignatureRejection(audit, log, err, { ip }).catch((e: unknown) =>
          log.warn({ err: e }, 'could not record a refused signature'),
        );
      }
      throw err;
    }
    assertAllowedAddress(principal, ip);
    return principal;
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH || closing) {
      socket.end(
        closing
          ? 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    const ip = requestIp(req, config.server.trust_proxy);
    const header = req.headers.authorization;
    const token = header ? BEARER.exec(header)?.[1] : (url.searchParams.get('token') ?? undefined);
    // Credentials given with the upgrade are checked before the socket exists, so no frame is
    // ever handled unauthenticated; a refusal is still told over the socket, where browsers see it.
    const credentials: Promise<Principal | AppError | undefined> =
      header && !token
        ? Promise.resolve(
            new AuthenticationError('Authorization must be "Bearer <token or API key>"'),
          )
        : token
          ? authenticate(token, ip, signedRequestOf(req.headers, undefined)).catch(
              (err: unknown) =>
                err instanceof AppError ? err : new AuthenticationError('Authentication failed'),
            )
          : Promise.resolve(undefined);
    void credentials.then((result) => {
      if (socket.destroyed) return;
      if (closing) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, result, token, ip));
    });
  };

  const onConnection = (
    ws: WebSocket,
    credentials: Principal | AppError | undefined,
    token: string | undefined,
    ip: string,
  ) => {
    const conn = new Connection(ws, settings.max_buffered_bytes, log, ip);
    connections.add(conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('error', (err) => log.debug({ err, socket: conn.id }, 'websocket error'));
    ws.on('close', () => {
      connections.delete(conn);
      clearTimeout(conn.authTimer);
      for (const j of conn.joined.values()) fanout.remove(j.membership);
      conn.joined.clear();
    });
    // The work a frame starts inherits the cancellation (it follows the async context).
    ws.on('message', (raw, isBinary) => {
      void cancellable(async () => onFrame(conn, raw, isBinary));
    });

    if (credentials instanceof AppError) {
      rejectAuth(conn, null, credentials.message);
    } else if (credentials) {
      signIn(conn, credentials, token);
    } else {
      conn.authTimer = setTimeout(() => {
        rejectAuth(
          conn,
          null,
          `No credentials: send Authorization: Bearer <token>, ?token=, or an auth frame within ${settings.auth_timeout_seconds} s`,
        );
      }, settings.auth_timeout_seconds * 1000);
    }
  };

  const signIn = (conn: Connection, principal: Principal, token: string | undefined) => {
    clearTimeout(conn.authTimer);
    conn.principal = principal;
    conn.token = token;
    conn.actor = actorOf(principal);
  };

  /**
   * A socket lives longer than its access token: at each heartbeat its credentials are checked
   * again (in memory: signature, expiry, revocations), so an expired token, a logout or a revoked
   * API key ends the socket within one heartbeat.
   */
  const recheck = (conn: Connection) => {
    const token = conn.token;
    if (!token) return;
    auth
      .stillValid(token)
      .then((principal) => assertAllowedAddress(principal, conn.ip))
      .catch((err: unknown) => {
        if (conn.ws.readyState !== WebSocket.OPEN) return;
        const reason = err instanceof AppError ? err.message : 'Authentication failed';
        rejectAuth(conn, null, `Credentials are no longer valid: ${reason}`);
      });
  };

  const rejectAuth = (conn: Connection, requestId: string | null, message: string) => {
    conn.error(requestId, 'authentication_error', message);
    conn.ws.close(WS_CLOSE.authentication, 'authentication failed');
  };

  const onFrame = (conn: Connection, raw: RawData, isBinary: boolean) => {
    const bytes = Array.isArray(raw)
      ? raw.reduce((n, b) => n + b.length, 0)
      : raw instanceof ArrayBuffer
        ? raw.byteLength
        : raw.length;
    if (bytes > settings.max_frame_bytes) {
      conn.error(null, 'invalid_request', `Frame exceeds ${settings.max_frame_bytes} bytes`, {
        max_frame_bytes: settings.max_frame_bytes,
      });
      return;
    }
    if (isBinary) {
      conn.error(null, 'invalid_request', 'Frames must be JSON text');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(rawText(raw));
    } catch {
      conn.error(null, 'invalid_request', 'Frame is not valid JSON');
      return;
    }
    const requestId = frameIdOf(json);
    const type = (json as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
      conn.error(
        requestId,
        'invalid_request',
        `Unknown frame type ${JSON.stringify(type ?? null)}; expected one of ${CLIENT_FRAME_TYPES.join(', ')}`,
      );
      return;
    }
    const parsed = clientFrameSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      conn.error(
        requestId,
        'invalid_request',
        `${issue.path.join('.') || 'frame'}: ${issue.message}`,
        {
          field: issue.path.join('.'),
        },
      );
      return;
    }
    if (conn.queued >= MAX_QUEUED_FRAMES) {
      conn.error(requestId, 'rate_limited', 'Too many frames waiting; slow down');
      return;
    }
    conn.queued++;
    conn.chain = conn.chain
      .then(() => handle(conn, parsed.data))
      .catch((err: unknown) => reportError(conn, requestId, err))
      .finally(() => conn.queued--);
  };

  const reportError = (conn: Connection, requestId: string | null, err: unknown) => {
    if (err instanceof AppError) {
      const code: WsErrorCode =
        err.code === 'authentication_error' ||
        err.code === 'permission_denied' ||
        err.code === 'rate_limited'
          ? err.code
          : err.status === 404
            ? 'session_not_found'
            : err.status < 500
              ? 'invalid_request'
              : 'internal_error';
      conn.error(requestId, code, err.message, {
        ...(err.details ?? {}),
        // The spec's few codes, made precise: e.g. `internal_error` with reason
        // `service_unavailable` is worth retrying (with the same idempotency_key).
        ...((code === 'invalid_request' || code === 'internal_error') && err.code !== code
          ? { reason: err.code }
          : {}),
      });
      return;
    }
    log.error({ err, socket: conn.id }, 'websocket frame failed');
    conn.error(requestId, 'internal_error', 'Internal error');
  };

  const requireScope = (conn: Connection, scope: Scope) => {
    if (!conn.principal?.scopes.includes(scope)) {
      throw new PermissionDeniedError(`This action needs the '${scope}' permission`, {
        required_scope: scope,
      });
    }
  };

  const handle = async (conn: Connection, frame: ClientFrame): Promise<void> => {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (frame.type === 'auth') {
      if (conn.principal) {
        conn.error(frame.id, 'invalid_request', 'Already authenticated');
        return;
      }
      // The token is being checked: the timeout no longer applies (a failure closes anyway).
      clearTimeout(conn.authTimer);
      let principal: Principal;
      try {
        principal = await authenticate(frame.data.token, conn.ip);
      } catch (err) {
        const message =
          err instanceof SignatureRejectedError && err.reason === 'signature_required'
            ? `${err.message}. A frame cannot carry a signature: sign the WebSocket upgrade instead (over an empty body)`
            : err instanceof AppError
              ? err.message
              : 'Authentication failed';
        rejectAuth(conn, frame.id ?? null, message);
        return;
      }
      signIn(conn, principal, frame.data.token);
      conn.ack(frame.id, { authenticated: true, kind: principal.kind, role: principal.role });
      return;
    }
    const actor = conn.actor;
    if (!actor) {
      throw new AuthenticationError('Authenticate first: send an auth frame with your token');
    }
    switch (frame.type) {
      case 'join_session': {
        requireScope(conn, 'sessions:read');
        const { session_id, since } = frame.data;
        const session = await sessions.findSession(session_id, actor);
        const previous = conn.joined.get(session_id);
        if (previous) {
          fanout.remove(previous.membership);
          conn.joined.delete(session_id);
        } else if (conn.joined.size >= MAX_JOINED_SESSIONS) {
          conn.error(
            frame.id,
            'rate_limited',
            `A socket may follow ${MAX_JOINED_SESSIONS} sessions`,
          );
          return;
        }
        // The ack goes out before any replayed or live event of the session.
        const membership = await fanout.join(
          {
            id: conn.id,
            sendText: (text) => conn.sendText(text),
          },
          session_id,
          since,
          (seq) =>
            conn.ack(frame.id, {
              session_id,
              seq,
              session: {
                session_id: session.session_id,
                client_id: session.client_id,
                persona_id: session.persona_id,
                status: session.status,
                ...(session.scheduled_at ? { scheduled_at: session.scheduled_at } : {}),
                ...(session.started_at ? { started_at: session.started_at } : {}),
                ...(session.ended_at ? { ended_at: session.ended_at } : {}),
                ...(session.cancelled_at ? { cancelled_at: session.cancelled_at } : {}),
                duration_minutes: session.duration_minutes,
              },
            }),
        );
        if (conn.ws.readyState !== WebSocket.OPEN) {
          fanout.remove(membership);
          return;
        }
        conn.joined.set(session_id, {
          membership,
          client_id: session.client_id,
          persona_id: session.persona_id,
        });
        return;
      }
      case 'leave_session': {
        const joined = conn.joined.get(frame.data.session_id);
        if (joined) fanout.remove(joined.membership);
        conn.joined.delete(frame.data.session_id);
        conn.ack(frame.id, { session_id: frame.data.session_id });
        return;
      }
      case 'send_message': {
        requireScope(conn, 'sessions:write');
        const { session_id, idempotency_key, ...req } = frame.data;
        const requestKey =
          idempotency_key &&
          scopedRequestKey(
            callerOf(conn.principal!),
            `${SESSIONS_PATH}/${session_id}/messages`,
            idempotency_key,
          );
        const message = await sessions.sendMessage(session_id, req, actor, requestKey);
        conn.ack(frame.id, { session_id, message });
        return;
      }
      case 'typing_indicator': {
        requireScope(conn, 'sessions:write');
        const { session_id, sender_type, is_typing } = frame.data;
        const joined = conn.joined.get(session_id);
        if (!joined) {
          conn.error(
            frame.id,
            'invalid_request',
            'Join the session before sending typing indicators',
            {
              session_id,
            },
          );
          return;
        }
        publishTypingFrom(
          bus,
          {
            session_id,
            sender_type,
            sender_id:
              sender_type === 'client'
                ? joined.client_id
                : sender_type === 'persona'
                  ? joined.persona_id
                  : actor.name,
            is_typing,
            timestamp: new Date().toISOString(),
          },
          conn.id,
        );
        return;
      }
    }
  };

  return {
    start: async () => {
      await fanout.start();
      heartbeat = setInterval(() => {
        for (const conn of connections) {
          // A closing socket has its own deadline (see sendText and close).
          if (conn.ws.readyState !== WebSocket.OPEN) continue;
          if (!conn.alive) {
            conn.ws.terminate();
            continue;
          }
          conn.alive = false;
          conn.ws.ping();
          recheck(conn);
        }
      }, settings.heartbeat_seconds * 1000);
      heartbeat.unref();
    },
    handleUpgrade,
    close: async (graceMs = 2_000) => {
      closing = true;
      clearInterval(heartbeat);
      const closed = [...connections].map(
        (conn) =>
          new Promise<void>((resolve) => {
            if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
            const cut = setTimeout(() => conn.ws.terminate(), graceMs);
            conn.ws.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            conn.ws.close(WS_CLOSE.goingAway, 'server shutting down');
          }),
      );
      await Promise.all(closed);
      await fanout.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    openSockets: () => connections.size,
  };
}

function rawText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

function frameIdOf(json: unknown): string | null {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : null;
}
