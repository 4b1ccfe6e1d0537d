/**
 * The whole route table. The server mounts it and `smart-steps gen-openapi` documents it, so
 * every route the API serves is in the OpenAPI document by construction.
 */
import type { AnyRoute } from '../routing/route';
import { openApiDocument } from '../routing/openapi';
import { route } from '../routing/route';
import { VERSION } from '../../lib/version';
import type { Probe } from '../../lib/health';
import type { AuthService } from '../../lib/auth/sessions';
import type { PersonaCatalog } from '../../personas/catalog';
import type { SessionService } from '../sessions/service';
import type { SeriesService } from '../series/service';
import type { ClientService } from '../clients/service';
import type { AnalysisService } from '../analysis/service';
import type { WebhookService } from '../webhooks/service';
import { healthRoutes } from './health';
import { authRoutes } from './auth';
import { auditRoutes } from './audit';
import type { AuditLog } from '../../lib/audit';
import type { LoginGuard } from '../limits';
import { sessionRoutes } from './sessions';
import { seriesRoutes } from './series';
import { clientRoutes } from './clients';
import { personaRoutes } from './personas';
import { analysisRoutes } from './analysis';
import { webhookRoutes } from './webhooks';
import { codecRoutes } from './codec';
import type { PayloadCodec } from '@temporalio/common';

export interface RouteServices {
  probes: Record<string, Probe>;
  auth: AuthService;
  /** Throttles login brute force per username and per address. */
  loginGuard: LoginGuard;
  audit: AuditLog;
  sessions: SessionService;
  series: SeriesService;
  clients: ClientService;
  personas: PersonaCatalog;
  analysis: AnalysisService;
  webhooks: WebhookService;
  /** The Temporal payload codec, served to operators' tools at /codec. */
  codec: PayloadCodec;
  /** True once the server is shutting down: readiness then answers 503. */
  draining?: () => boolean;
}

export const OPENAPI_PATH = '/api/v1/openapi.json';

export function apiRoutes(services: RouteServices): AnyRoute[] {
  const routes = [
    ...healthRoutes(services.probes, VERSION, services.draining),
    ...authRoutes(services.auth, services.loginGuard, services.audit),
    ...auditRoutes(services.audit),
    ...sessionRoutes(services.sessions),
    ...seriesRoutes(services.series),
    ...clientRoutes(services.clients),
    ...personaRoutes(services.personas),
    ...analysisRoutes(services.analysis, services.sessions, services.clients),
    ...webhookRoutes(services.webhooks),
    ...codecRoutes(services.codec),
  ];
  let document: Record<string, unknown> | undefined;
  const openapi = route({
    method: 'get',
    path: OPENAPI_PATH,
    operationId: 'openapi',
    summary: 'This OpenAPI 3.1 document (no authentication)',
    tag: 'Operations',
    auth: 'public',
    responses: { 200: { description: 'The OpenAPI document' } },
    handler: (ctx) => {
      document ??= openApiDocument(all, { version: VERSION });
      ctx.body = document;
    },
  });
  const all = [...routes, openapi];
  return all;
}

/** The document without a running server: services are never touched while describing routes. */
export function describeApi(): Record<string, unknown> {
  const unused = new Proxy(
    {},
    {
      get() {
        throw new Error('route handlers cannot run while only generating the API description');
      },
    },
  );
  const routes = apiRoutes({
    probes: {},
    auth: unused as AuthService,
    loginGuard: unused as LoginGuard,
    audit: unused as AuditLog,
    sessions: unused as SessionService,
    series: unused as SeriesService,
    clients: unused as ClientService,
    personas: unused as PersonaCatalog,
    analysis: unused as AnalysisService,
    webhooks: unused as WebhookService,
    codec: unused as PayloadCodec,
  });
  return openApiDocument(routes, { version: VERSION });
}
