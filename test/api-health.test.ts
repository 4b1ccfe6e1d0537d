import { start as startApi, type ApiServer } from '../api/server';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { quietLogger, testConfig, waitFor } from './helpers/stack';

interface HealthBody {
  status: string;
  dependencies: Record<string, { status: string }>;
  error?: { code: string; message: string; details: { failing: string[] }; request_id: string };
}

describe('API health and error envelope', () => {
  let api: ApiServer;

  beforeAll(async () => {
    api = await startApi(testConfig(), quietLogger);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('reports 200 with temporal, nats and mongo ok', async () => {
    const res = await fetch(`${api.url}/api/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthBody;
    expect(body.status).toBe('ok');
    expect(
      Object.fromEntries(Object.entries(body.dependencies).map(([k, v]) => [k, v.status])),
    ).toEqual({
      temporal: 'ok',
      nats: 'ok',
      mongo: 'ok',
    });
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('sends the security headers on every response, errors included', async () => {
    for (const path of ['/api/health', '/api/v1/nothing-here']) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'self'");
    }
  });

  it('answers an unknown route with the 404 envelope and the request id', async () => {
    const res = await fetch(`${api.url}/api/v1/nothing-here`, {
      headers: { 'X-Request-Id': 'trace-123' },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        code: 'resource_not_found',
        message: 'No route for GET /api/v1/nothing-here',
        details: {},
        request_id: 'trace-123',
      },
    });
  });

  it('answers malformed JSON with a 400 envelope, not a stack trace', async () => {
    const res = await fetch(`${api.url}/api/health`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"client_id": ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as HealthBody;
    expect(body.error).toMatchObject({
      code: 'invalid_request',
      message: 'Request body is not valid JSON',
    });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('refuses an oversized body with 413 before reading all of it', async () => {
    const res = await fetch(`${api.url}/api/health`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content: 'x'.repeat(300 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as HealthBody).error?.code).toBe('payload_too_large');
  });

  it('answers a wrong method on a known route with 405 in the envelope', async () => {
    const res = await fetch(`${api.url}/api/health`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(((await res.json()) as HealthBody).error?.code).toBe('method_not_allowed');
  });
});

describe('API health when a dependency fails', () => {
  // A NATS server of this test's own, so stopping it harms no other test.
  let nats: OwnNats;
  let api: ApiServer;

  beforeAll(async () => {
    nats = await startOwnNats('nats-health');
    api = await startApi(testConfig({ 'nats.servers': [nats.url] }), quietLogger);
  });
  afterAll(async () => {
    await api?.stop();
    await nats?.stop();
  });

  it('answers 503 naming nats while it is down, and 200 again once it is back', async () => {
    await nats.stop();
    const down = await waitFor('a 503 from health', async () => {
      const res = await fetch(`${api.url}/api/health`);
      return res.status === 503 ? ((await res.json()) as HealthBody) : undefined;
    });
    expect(down.dependencies.nats!.status).toBe('unavailable');
    expect(down.dependencies.mongo!.status).toBe('ok');
    expect(down.dependencies.temporal!.status).toBe('ok');
    expect(down.error).toMatchObject({
      code: 'service_unavailable',
      message: 'Unavailable: nats',
      details: { failing: ['nats'] },
    });

    await nats.restart();
    await waitFor(
      'health to recover',
      async () => (await fetch(`${api.url}/api/health`)).status === 200,
      20_000,
    );
  });
});
