/**
 * The declared route a request was for (`/api/v1/sessions/{id}`), as metrics and logs name it:
 * bounded, unlike raw paths full of ids, and free of what the path carries (the codec's token).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';

/** Requests for paths no route serves: one label, however many scanners try how many paths. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * `routers` are asked only for requests refused before routing (a rate limit, an oversized or
 * malformed body, a 405): the route that ran already left its path on the context.
 */
export function routeLabeller(routers: () => Router[]): (ctx: Context) => string {
  return (ctx) => {
    const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
    if (typeof matched === 'string') return template(matched);
    for (const router of routers()) {
      const { path, pathAndMethod } = router.match(ctx.path, ctx.method);
      // Route layers have methods; `use()` middleware layers have none.
      const layer =
        pathAndMethod.findLast((l) => l.methods.length > 0) ??
        path.findLast((l) => l.methods.length > 0);
      if (layer && typeof layer.path === 'string') return template(layer.path);
    }
    return UNMATCHED_ROUTE;
  };
}

/** Back from Koa's `:id` to the `{id}` the route table and the OpenAPI document use. */
const template = (koaPath: string) => koaPath.replace(/:(\w+)/g, '{$1}');
