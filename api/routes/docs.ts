/**
 * Swagger UI at `/docs`, from the `swagger-ui-dist` package (no CDN: the docs work offline and
 * under the API's Content-Security-Policy). The page loads `/api/v1/openapi.json`.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import Router from '@koa/router';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Smart Steps API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-ui-standalone-preset.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

// A file rather than an inline script, so the page runs under a CSP without 'unsafe-inline' scripts.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

/** Swagger UI styles elements inline and shows data: images; scripts stay same-origin only. */
export const DOCS_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'";

function assetDir(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

export function docsRoutes(): Router {
  const router = new Router();
  const dir = assetDir();
  const cache = new Map<string, Buffer>();

  router.get('/docs', (ctx) => {
    ctx.state.contentSecurityPolicy = DOCS_CSP;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get('/docs/init.js', (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = INIT;
  });
  router.get('/docs/:asset', async (ctx, next) => {
    const asset = ctx.params.asset ?? '';
    const type = ASSETS[asset];
    if (!type) {
      await next();
      return;
    }
    let body = cache.get(asset);
    if (!body) {
      body = await readFile(path.join(dir, asset));
      cache.set(asset, body);
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  });
  return router;
}
