import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startRuntime, type Runtime } from './helpers/runtime';

type OpenApi = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { security?: unknown[]; responses: Record<string, unknown> }>
  >;
  components: { securitySchemes: Record<string, unknown> };
};

/** What an app developer reads in the spec and issue: each must be served and documented. */
const EXPECTED = [
  'post /api/v1/auth/login',
  'post /api/v1/auth/refresh',
  'post /api/v1/auth/logout',
  'post /api/v1/sessions',
  'get /api/v1/sessions',
  'get /api/v1/sessions/{id}',
  'post /api/v1/sessions/{id}/start',
  'post /api/v1/sessions/{id}/messages',
  'get /api/v1/sessions/{id}/messages',
  'post /api/v1/sessions/{id}/end',
  'post /api/v1/sessions/{id}/cancel',
  'post /api/v1/sessions/{id}/notes',
  'post /api/v1/sessions/{id}/analyze/summary',
  'post /api/v1/clients',
  'get /api/v1/clients',
  'get /api/v1/clients/{id}',
  'patch /api/v1/clients/{id}',
  'delete /api/v1/clients/{id}',
  'post /api/v1/clients/{id}/analyze/progress',
  'get /api/v1/personas',
  'get /api/v1/personas/{id}',
  'post /api/v1/personas',
  'put /api/v1/personas/{id}',
  'post /api/v1/webhooks',
  'get /api/v1/webhooks',
  'get /api/v1/webhooks/{id}',
  'delete /api/v1/webhooks/{id}',
  'get /api/v1/webhooks/{id}/deliveries',
  'post /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver',
  'post /api/v1/webhooks/{id}/ping',
  'get /api/health',
  'get /api/health/live',
  'get /api/health/ready',
  'get /api/v1/openapi.json',
];

const PUBLIC = new Set([
  'get /api/health',
  'get /api/health/live',
  'get /api/health/ready',
  'get /api/v1/openapi.json',
  'post /api/v1/auth/login',
  'post /api/v1/auth/refresh',
]);

describe('OpenAPI document and API docs', () => {
  let rt: Runtime;
  let doc: OpenApi;

  beforeAll(async () => {
    rt = await startRuntime({}, { sessionWorker: false, personaWorker: false });
    const res = await rt.anonymous('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as OpenApi;
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m} ${p}`),
    );

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result).toEqual({ valid: true });
  });

  it('lists every endpoint of the spec and the issue', () => {
    const documented = new Set(operations());
    expect(EXPECTED.filter((op) => !documented.has(op))).toEqual([]);
  });

  it('documents only routes the server answers, each guarded as documented', async () => {
    for (const op of operations()) {
      const [method, template] = op.split(' ') as [string, string];
      const url = template
        .replace('/sessions/{id}', '/sessions/s_nonexistent1')
        .replace('/clients/{id}', '/clients/c_nonexistent1')
        .replace('/webhooks/{id}', '/webhooks/wh_nonexistent1')
        .replace('/session-series/{id}', '/session-series/sr_nonexistent1')
        .replace('/personas/{id}', '/personas/dr_morgan_hayes');
      const res = await rt.anonymous(method.toUpperCase(), url);
      // Never "no such route": each documented operation exists on the server.
      expect({ op, message: res.body?.error?.message }).not.toMatchObject({
        message: expect.stringMatching(/^No route/),
      });
      const documentedSecurity = doc.paths[template]![method]!.security;
      if (PUBLIC.has(op)) {
        expect({ op, security: documentedSecurity }).toEqual({ op, security: [] });
        expect({ op, status: res.status }).not.toEqual({ op, status: 401 });
      } else {
        expect({ op, status: res.status }).toEqual({ op, status: 401 });
        expect(res.body.error.code).toBe('authentication_error');
        // The codec's UI variant takes its credential from the path, not a header scheme.
        expect(documentedSecurity).toEqual(
          template.includes('{token}') ? [] : [{ bearerJwt: [] }, { apiKey: [] }],
        );
        expect(doc.paths[template]![method]!.responses['401']).toBeDefined();
      }
    }
  });

  it('describes both auth schemes and the error envelope', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearerJwt']);
    const create = doc.paths['/api/v1/sessions']!.post!.responses;
    expect(Object.keys(create)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '413', '422', '500']),
    );
    expect(create['422']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
    });
  });

  it('marks deprecated operations as such', () => {
    const clientPath = doc.paths['/api/v1/clients/{id}'] as Record<
      string,
      { deprecated?: boolean }
    >;
    expect(clientPath.put!.deprecated).toBe(true);
    expect(clientPath.patch!.deprecated).toBeUndefined();
  });

  it('is written to a file by `smart-steps gen-openapi --output`', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'openapi-')), 'api', 'openapi.json');
    const bin = path.join(__dirname, '..', 'bin', 'smart-steps.js');
    await promisify(execFile)(process.execPath, [bin, 'gen-openapi', '--output', out]);
    const written = JSON.parse(readFileSync(out, 'utf8')) as OpenApi;
    expect(written.paths).toEqual(doc.paths);
  });

  it('serves Swagger UI at /docs from local assets', async () => {
    const page = await fetch(`${rt.api.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="swagger-ui">');
    expect(html).not.toMatch(/https?:\/\//);
    const init = await (await fetch(`${rt.api.url}/docs/init.js`)).text();
    expect(init).toContain("url: '/api/v1/openapi.json'");
    for (const asset of [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)) {
      const res = await fetch(`${rt.api.url}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
    }
    // The page's own scripts are same-origin files, so its CSP needs no 'unsafe-inline' scripts.
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});
