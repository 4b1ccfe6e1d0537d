/**
 * Routes as data. Each route names its method, path, auth, the zod schemas of its path, query
 * and body, and its responses; the same definition mounts the Koa handler (authenticate →
 * authorize → idempotency → validate → handle) and writes its OpenAPI operation, so the
 * document cannot drift from what the server does.
 */
import Router, { type RouterContext } from '@koa/router';
import type { Middleware } from 'koa';
import type { z } from 'zod';
import type { Principal, Scope } from '../../lib/auth/roles';
import { NotFoundError, PermissionDeniedError } from '../../lib/errors';
import type { AuditOutcome } from '../../lib/audit';
import { NO_QUERY, validate } from '../validate';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** `public`; `authenticated` (any valid credentials); or the permission a caller must carry. */
export type Access = Scope | 'public' | 'authenticated';
type Schema = z.ZodType | undefined;
type Infer<T extends Schema> = T extends z.ZodType ? z.output<T> : undefined;

export interface ResponseDef {
  description: string;
  /** Absent for empty bodies (204). */
  schema?: z.ZodType;
}

export interface RouteInput<
  A extends Access,
  P extends Schema,
  Q extends Schema,
  B extends Schema,
> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  principal: A extends 'public' ? undefined : Principal;
}

export interface RouteDef<
  A extends Access = Access,
  P extends Schema = Schema,
  Q extends Schema = Schema,
  B extends Schema = Schema,
> {
  method: Method;
  /** OpenAPI form, `{name}` for path parameters. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Success responses by status code; error responses are added from what the route can fail with. */
  responses: Record<number, ResponseDef>;
  /** Error statuses beyond those implied by auth, parameters and body (e.g. 409 for state changes). */
  errors?: number[];
  /**
   * Recorded in the audit log for authenticated callers, whatever the outcome: the action, and
   * the resource named by the `{id}` path parameter or, for a create, the id in the answer.
   */
  audit?: { action: string; resource: string };
  /**
   * A path parameter carrying the bearer credential instead of the Authorization header, for
   * clients that can be given a URL but not a header (the Temporal Web UI's codec setting).
   */
  credentialParam?: string;
  /** A deprecated route still works, and says so in `X-API-Warning` (the spec's deprecation policy). */
  deprecated?: { warning: string; sunset?: string };
  handler(ctx: RouterContext, input: RouteInput<A, P, Q, B>): Promise<void> | void;
}

/** A route with its types erased, as tables and the OpenAPI writer hold them. */
export type AnyRoute = RouteDef<Access, Schema, Schema, Schema>;

/** Identity with inference: `route({...})` checks the handler against the route's own schemas. */
export function route<
  A extends Access,
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
>(def: RouteDef<A, P, Q, B>): AnyRoute {
  return def;
}

export interface MountHooks {
  /**
   * Resolves the caller from the request's credentials (`credential` when the route takes it
   * from the path, else the Authorization header), or throws an AuthenticationError.
   */
  authenticate(ctx: RouterContext, credential?: string): Promise<Principal>;
  /** Wraps POST handlers so a retried request with the same Idempotency-Key replays its answer. */
  idempotency: Middleware;
  /** Runs once the caller is known (its own request limit). */
  authenticated?(ctx: RouterContext, principal: Principal): void;
  /** Records an audited route's outcome. */
  audit?(ctx: RouterContext, principal: Principal, entry: AuditedAction): Promise<void>;
}

export interface AuditedAction {
  action: string;
  resource_type: string;
  resource_id?: string;
  outcome: AuditOutcome;
}

/** The id a create answered with (`client_id`, `session_id`, `id`…). */
function createdId(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const id = b.id ?? b.client_id ?? b.session_id ?? b.webhook_id ?? b.persona_id ?? b.series_id;
  return typeof id === 'string' ? id : undefined;
}

function outcomeOf(err: unknown): AuditOutcome {
  if (err instanceof PermissionDeniedError) return 'denied';
  if (err instanceof NotFoundError) return 'not_found';
  return 'failed';
}

export const koaPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

export function mountRoutes(routes: AnyRoute[], hooks: MountHooks): Router {
  const router = new Router();
  for (const def of routes) {
    router[def.method](koaPath(def.path), async (ctx) => {
      let principal: Principal | undefined;
      if (def.auth !== 'public') {
        const credential = def.credentialParam
          ? ((ctx.params as Record<string, string | undefined>)[def.credentialParam] ?? '')
          : undefined;
        principal = await hooks.authenticate(ctx, credential);
      }
      if (!def.audit || !principal || !hooks.audit) return handle(def, ctx, principal);
      const record = (outcome: AuditOutcome) => {
        // The path names the resource; a create names it in its answer.
        const id =
          (ctx.params as { id?: string }).id ??
          (outcome === 'success' ? createdId(ctx.body) : undefined);
        return hooks.audit!(ctx, principal, {
          action: def.audit!.action,
          resource_type: def.audit!.resource,
          ...(id ? { resource_id: id } : {}),
          outcome,
        });
      };
      try {
        await handle(def, ctx, principal);
      } catch (err) {
        await record(outcomeOf(err));
        throw err;
      }
      await record('success');
    });
  }
  return router;

  async function handle(
    def: AnyRoute,
    ctx: RouterContext,
    principal: Principal | undefined,
  ): Promise<void> {
    if (principal) {
      hooks.authenticated?.(ctx, principal);
      if (
        def.auth !== 'authenticated' &&
        def.auth !== 'public' &&
        !principal.scopes.includes(def.auth)
      ) {
        throw new PermissionDeniedError(`This action needs the '${def.auth}' permission`, {
          required_scope: def.auth,
        });
      }
      ctx.state.principal = principal;
    }
    if (def.deprecated) {
      ctx.set('X-API-Warning', def.deprecated.warning);
      ctx.set('Deprecation', 'true');
      if (def.deprecated.sunset) ctx.set('Sunset', new Date(def.deprecated.sunset).toUTCString());
    }
    const run = async () => {
      const input = {
        params: def.params ? validate(def.params, ctx.params, 'path') : undefined,
        query: validate(def.query ?? NO_QUERY, ctx.query, 'query'),
        body: def.body ? validate(def.body, ctx.state.body, 'body') : undefined,
        principal,
      };
      await def.handler(ctx, input);
    };
    // Public POSTs (login, refresh) answer with credentials, which must not be stored for replay.
    if (def.method === 'post' && principal) await hooks.idempotency(ctx, run);
    else await run();
  }
}
