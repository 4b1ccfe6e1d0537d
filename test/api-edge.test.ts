import { COLLECTIONS } from '../lib/store/collections';
import { startRuntime, type HttpResponse, type Runtime } from './helpers/runtime';

describe('API edge behaviour', () => {
  let rt: Runtime;
  const origin = 'https://app.example.test';

  beforeAll(async () => {
    rt = await startRuntime(
      { 'server.cors.allowed_origins': [origin] },
      { sessionWorker: false, personaWorker: false },
    );
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it("sends the spec's security headers, HSTS only over HTTPS", async () => {
    const res = await fetch(`${rt.api.url}/api/health`);
    expect(Object.fromEntries([...res.headers].filter(([k]) => SECURITY.includes(k)))).toEqual({
      'content-security-policy': "default-src 'self'",
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'x-xss-protection': '1; mode=block',
      'referrer-policy': 'strict-origin-when-cross-origin',
    });
    // A claim of HTTPS from a proxy that is not trusted changes nothing.
    const spoofed = await fetch(`${rt.api.url}/api/health`, {
      headers: { 'X-Forwarded-Proto': 'https' },
    });
    expect(spoofed.headers.get('strict-transport-security')).toBeNull();
  });

  it('compresses responses above 1 KB for clients that accept it, not smaller ones', async () => {
    const get = (id: string, encoding: string) =>
      fetch(`${rt.api.url}/api/v1/clients/${id}`, {
        headers: { Authorization: `Bearer ${rt.admin.token}`, 'Accept-Encoding': encoding },
      });
    // A client whose answer is a chosen size, padded through its free-form metadata.
    const sized = async (bytes: number) => {
      const id = await rt.newClient({ metadata: { pad: '' } });
      const base = Buffer.byteLength(await (await get(id, 'identity')).text());
      await rt.http('PATCH', `/api/v1/clients/${id}`, {
        metadata: { pad: 'x'.repeat(bytes - base) },
      });
      const plain = await get(id, 'identity');
      expect(plain.headers.get('content-encoding')).toBeNull();
      const body = await plain.text();
      expect(Buffer.byteLength(body)).toBe(bytes);
      const gzipped = await get(id, 'gzip');
      // fetch inflates it: the same JSON either way.
      expect(await gzipped.text()).toBe(body);
      return gzipped.headers.get('content-encoding');
    };
    expect(await sized(1024 + 100)).toBe('gzip');
    expect(await sized(1024 - 100)).toBeNull();
  });

  it('answers CORS preflights for configured origins only', async () => {
    const preflight = (from: string) =>
      fetch(`${rt.api.url}/api/v1/sessions`, {
        method: 'OPTIONS',
        headers: {
          Origin: from,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type',
        },
      });
    const allowed = await preflight(origin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const other = await preflight('https://evil.example.test');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks deprecated endpoints with X-API-Warning and keeps serving them', async () => {
    const id = await rt.newClient();
    const put = await rt.http('PUT', `/api/v1/clients/${id}`, { phone: '+1 555 0100' });
    expect(put.status).toBe(200);
    expect(put.headers.get('x-api-warning')).toMatch(/^This endpoint is deprecated/);
    expect(put.headers.get('sunset')).toBeTruthy();
    const patch = await rt.http('PATCH', `/api/v1/clients/${id}`, { phone: '+1 555 0101' });
    expect(patch.headers.get('x-api-warning')).toBeNull();
  });

  it('honours a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await rt.anonymous('GET', '/api/v1/sessions', undefined, {
      'X-Request-Id': 'app-trace-42',
    });
    expect(kept.headers.get('x-request-id')).toBe('app-trace-42');
    expect(kept.body.error.request_id).toBe('app-trace-42');
    const replaced = await rt.anonymous('GET', '/api/v1/sessions', undefined, {
      'X-Request-Id': 'bad id with spaces',
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('caps the page size and pages in a stable order', async () => {
    const tooBig = await rt.http('GET', '/api/v1/clients?limit=101');
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.error.details).toMatchObject({ field: 'limit' });

    const label = `Pager${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await rt.newClient({ first_name: label }));
    // Created in the same millisecond, as a burst of imports may be: the id decides the order.
    await rt.api.connections.store.db
      .collection(COLLECTIONS.clients)
      .updateMany(
        { _id: { $in: ids as never[] } },
        { $set: { created_at: '2030-01-01T00:00:00.000Z' } },
      );
    const pages = [];
    for (const page of [1, 2, 3]) {
      const res = await rt.http('GET', `/api/v1/clients?search=${label}&limit=2&page=${page}`);
      expect(res.body.pagination).toEqual({ total: 5, page, page_size: 2, pages: 3 });
      pages.push(...(res.body.clients as { client_id: string }[]).map((c) => c.client_id));
    }
    expect(pages).toEqual([...ids].sort().reverse());
  });

  it('answers every class of client error in the spec’s envelope, with the request id', async () => {
    const viewer = await rt.signIn('viewer');
    const email = `dup-${Date.now()}@example.test`;
    await rt.newClient({ email });
    const raw = (method: string, path: string, body: string) =>
      fetch(`${rt.api.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${rt.admin.token}`, 'Content-Type': 'application/json' },
        body,
      }).then(async (res) => ({
        status: res.status,
        headers: res.headers,
        body: await res.json(),
      }));
    // One at a time: a refused oversized body must not race the other requests.
    const cases: [string, () => Promise<HttpResponse>, number, string][] = [
      [
        'malformed JSON',
        () => raw('POST', '/api/v1/clients', '{"first_name": '),
        400,
        'invalid_request',
      ],
      ['no credentials', () => rt.anonymous('GET', '/api/v1/clients'), 401, 'authentication_error'],
      [
        'missing scope',
        () => viewer.http('POST', '/api/v1/clients', { first_name: 'V', last_name: 'W' }),
        403,
        'permission_denied',
      ],
      ['unknown route', () => rt.http('GET', '/api/v1/nowhere'), 404, 'resource_not_found'],
      [
        'unknown record',
        () => rt.http('GET', '/api/v1/clients/c_doesnotexist0000'),
        404,
        'resource_not_found',
      ],
      ['wrong method', () => rt.http('DELETE', '/api/v1/sessions'), 405, 'method_not_allowed'],
      [
        'duplicate e-mail',
        () => rt.http('POST', '/api/v1/clients', { first_name: 'A', last_name: 'B', email }),
        409,
        'conflict',
      ],
      [
        'body too large',
        () =>
          raw(
            'POST',
            '/api/v1/clients',
            JSON.stringify({ first_name: 'x'.repeat(rt.config.server.body_limit_kb * 1024) }),
          ),
        413,
        'payload_too_large',
      ],
      [
        'invalid body',
        () =>
          rt.http('POST', '/api/v1/clients', { first_name: 'A', last_name: 'B', email: 'nope' }),
        422,
        'validation_error',
      ],
      ['invalid query', () => rt.http('GET', '/api/v1/clients?page=0'), 422, 'validation_error'],
      [
        'invalid path',
        () => rt.http('GET', '/api/v1/sessions/not-a-session'),
        422,
        'validation_error',
      ],
    ];
    const details: Record<string, unknown> = {};
    for (const [what, send, status, code] of cases) {
      const res = await send();
      details[what] = res.body?.error?.details;
      expect({ what, status: res.status, keys: Object.keys(res.body ?? {}) }).toEqual({
        what,
        status,
        keys: ['error'],
      });
      expect({ what, error: res.body.error }).toEqual({
        what,
        error: {
          code,
          message: expect.stringMatching(/\S/),
          details: expect.any(Object),
          request_id: res.headers.get('x-request-id'),
        },
      });
    }
    // Validation names the field and why, in the spec's details.
    expect(details['invalid body']).toMatchObject({ field: 'email', reason: expect.any(String) });
    expect(details['invalid query']).toMatchObject({ field: 'page', reason: expect.any(String) });
    expect(details['invalid path']).toMatchObject({
      field: 'id',
      reason: 'must be a session id (s_…)',
    });
  });

  it('answers a server fault with a bare 500 envelope, no internals', async () => {
    // Run last: the API's database client is closed under it, as if the driver broke.
    await rt.api.connections.store.close();
    const res = await rt.http('GET', '/api/v1/clients', undefined, { 'X-Request-Id': 'fault-1' });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: {
        code: 'internal_error',
        message: 'An internal error occurred',
        details: {},
        request_id: 'fault-1',
      },
    });
  });
});

const SECURITY = [
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'x-xss-protection',
  'strict-transport-security',
  'referrer-policy',
];
