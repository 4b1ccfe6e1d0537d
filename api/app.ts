import Koa from 'koa';
import compress from 'koa-compress';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import type { Connections } from '../lib/connections';
import type { AuthService } from '../lib/auth/sessions';
import { AuthenticationError } from '../lib/errors';
import { requestId } from './middleware/request-id';
import { inFlight } from './middleware/in-flight';
import { securityHeaders } from './middleware/security-headers';
import { idempotency } from './middleware/idempotency';
import { errorEnvelope } from './middleware/errors';
import { jsonBody } from './middleware/json-body';
import { corsPolicies } from './middleware/cors';
import { observeRequests } from './middleware/observe';
import { routeLabeller } from './routing/route-label';
import type { ApiMetrics } from './metrics';
import type { PersonaRegistry } from '../personas/registry';
import { PersonaCatalog } from '../personas/catalog';
import { SessionService } from './sessions/service';
import { SeriesService } from './series/service';
import { temporalEraser } from './clients/erasure';
import { FieldCrypto } from '../lib/crypto/fields';
import { SessionReadCache } from './sessions/read-cache';
import type { OwnedDetails } from './sessions/service';
import { ClientService } from './clients/service';
import { AnalysisService } from './analysis/service';
import { WebhookService } from './webhooks/service';
import { apiRoutes } from './routes';
import { docsRoutes } from './routes/docs';
import { mountRoutes, type AnyRoute } from './routing/route';
import type { Principal } from '../lib/auth/roles';
import type { Limits } from './limits';
import { AuditLog, auditActor } from '../lib/audit';
import { assertAllowedAddress, normaliseIp } from './limits/addresses';
import { SignatureRejectedError, type SignedRequest } from '../lib/auth/request-signing';
import { recordSignatureRejection, signedRequestOf } from './signed-requests';

export interface AppDeps {
  config: Config;
  log: Logger;
  connections: Connections;
  personas: PersonaRegistry;
  auth: AuthService;
  limits: Limits;
  /** Request latency is observed here when given. */
  metrics?: ApiMetrics;
}

/** Builds the Koa application; no listening, so tests and the server share one construction. */
export interface App {
  koa: Koa;
  routes: AnyRoute[];
  /** The session commands REST uses, shared with the WebSocket gateway. */
  sessions: SessionService;
  /** The audit log; its writer runs while the server does. */
  audit: AuditLog;
  /** Session reads kept in memory (when `performance.cache.enabled`), following NATS. */
  cache?: SessionReadCache<OwnedDetails>;
  /** Resolves once no request is in progress (or after the timeout). */
  drained(timeoutMs: number): Promise<void>;
  /** From now on `/api/health/ready` answers 503: the server is shutting down. */
  drain(): void;
}

export function createApp({
  config,
  log,
  connections,
  personas,
  auth,
  limits,
  metrics,
}: AppDeps): App {
  const app = new Koa();
  const requests = inFlight();
  let draining = false;
  // Only behind a proxy that sets X-Forwarded-For may it name the client (limits count by address).
  app.proxy = config.server.trust_proxy;
  // Koa's default handler prints stacks to stderr; the error middleware already logs once.
  app.silent = true;

  app.use(requests.middleware);
  app.use(requestId());
  app.use(securityHeaders(config.security.headers));
  app.use(corsPolicies(config));
  app.use(compress({ threshold: config.server.compression_threshold_bytes }));
  // Routers are built below; only requests that come later are labelled.
  app.use(
    observeRequests(
      log,
      routeLabeller(() => [api, docs]),
      metrics?.requestSeconds,
    ),
  );
  app.use(errorEnvelope(log));
  // A request's Temporal calls are cancelled if the process closes its Temporal connection
  // while they wait (see TemporalHandle.cancellable); the envelope above answers for them.
  app.use((_ctx, next) => connections.temporal.cancellable(next));
  // Before the body is read: a refused request costs as little as possible.
  app.use(limits.limiter.middleware());
  app.use(jsonBody(config.server.body_limit_kb * 1024));

  const { client } = connections.temporal;
  const { db } = connections.store;
  // Definition files plus the custom personas administrators add through the API.
  const catalog = new PersonaCatalog(personas, db);
  const fields = FieldCrypto.fromConfig(config);
  const cache = config.performance.cache.enabled
    ? new SessionReadCache<OwnedDetails>(connections.bus.nc, config.performance.cache, log)
    : undefined;
  cache?.start();
  const sessions = new SessionService(client, db, config, catalog, fields, cache);
  const audit = new AuditLog(db, connections.bus, log);
  const clients = new ClientService(
    db,
    connections.bus,
    fields,
    temporalEraser(client, config.temporal.namespace),
  );
  const routes = apiRoutes({
    probes: connections.probes,
    auth,
    loginGuard: limits.guard,
    audit,
    sessions,
    series: new SeriesService(client, db, config, catalog, sessions),
    clients,
    personas: catalog,
    analysis: new AnalysisService(client, db, config),
    webhooks: new WebhookService(db, fields, config.webhooks),
    codec: connections.temporal.codec,
    draining: () => draining,
  });
  const api = mountRoutes(routes, {
    // Before idempotency and the handler: a replayed signed request must not even get the
    // stored answer of its first sending.
    authenticate: async (ctx, credential) => {
      try {
        return await authenticate(
          auth,
          credential === undefined ? ctx.get('Authorization') : `Bearer ${credential}`,
          signedRequestOf(ctx.headers, ctx.state.rawBodyBytes as Buffer | undefined),
        );
      } catch (err) {
        if (err instanceof SignatureRejectedError) {
          await recordSignatureRejection(audit, log, err, {
            ip: ctx.ip,
            requestId: ctx.state.requestId as string,
          });
        }
        throw err;
      }
    },
    audit: (ctx, principal, entry) =>
      audit.record({
        ...auditActor(principal),
        ...entry,
        ip: ctx.ip,
        request_id: ctx.state.requestId as string,
      }),
    authenticated: (ctx, principal) => {
      assertAllowedAddress(principal, normaliseIp(ctx.ip));
      limits.limiter.forPrincipal(ctx, principal);
    },
    // Keys are scoped per caller, so two callers can never replay each other's answers.
    idempotency: idempotency(connections.store.db),
  });
  const docs = docsRoutes();
  app.use(api.routes()).use(api.allowedMethods({ throw: true }));
  app.use(docs.routes());
  return {
    koa: app,
    routes,
    sessions,
    audit,
    ...(cache ? { cache } : {}),
    drained: (timeoutMs) => requests.drained(timeoutMs),
    drain: () => {
      draining = true;
    },
  };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

async function authenticate(
  auth: AuthService,
  header: string,
  request: SignedRequest,
): Promise<Principal> {
  if (!header) {
    throw new AuthenticationError(
      'Authentication required: send Authorization: Bearer <token or API key>',
    );
  }
  const match = BEARER.exec(header);
  if (!match) throw new AuthenticationError('Authorization must be "Bearer <token or API key>"');
  return auth.authenticate(match[1]!, request);
}
