import { start as startApi, type ApiServer } from '../api/server';
import { freePorts } from '../scripts/stack/ports';
import { quietLogger, testConfig, waitFor } from './helpers/stack';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { scrape, valueOf } from './helpers/prometheus';

describe('readiness and liveness', () => {
  let nats: OwnNats;
  let api: ApiServer;

  beforeAll(async () => {
    // A NATS server of this test's own, so stopping it harms no other test.
    nats = await startOwnNats('nats-ready');
    const [metricsPort] = await freePorts(1);
    api = await startApi(
      testConfig({ 'nats.servers': [nats.url], 'metrics.ports.api': metricsPort }),
      quietLogger,
    );
  });
  afterAll(async () => {
    await api?.stop();
    await nats?.stop();
  });

  const get = async (path: string) => {
    const res = await fetch(`${api.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('answers live and ready with 200 and no credentials while every dependency answers', async () => {
    const live = await get('/api/health/live');
    expect(live).toEqual({
      status: 200,
      body: { status: 'ok', version: expect.any(String), uptime_seconds: expect.any(Number) },
    });
    const ready = await get('/api/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.dependencies).toMatchObject({
      temporal: { status: 'ok' },
      nats: { status: 'ok' },
      mongo: { status: 'ok' },
    });
  });

  it('is not ready while NATS is down, stays live, counts the disconnect, and is ready again after', async () => {
    await nats.stop();
    const down = await waitFor('ready to answer 503', async () => {
      const res = await get('/api/health/ready');
      return res.status === 503 ? res.body : undefined;
    });
    expect(down).toMatchObject({
      status: 'unavailable',
      dependencies: { nats: { status: 'unavailable' }, mongo: { status: 'ok' } },
      error: { code: 'service_unavailable', details: { failing: ['nats'] } },
    });
    expect((await get('/api/health/live')).status).toBe(200);
    const samples = await scrape(api.metricsUrl!);
    expect(
      valueOf(samples, 'smartsteps_nats_errors_total', { kind: 'disconnect' }),
    ).toBeGreaterThan(0);

    await nats.restart();
    await waitFor(
      'ready again',
      async () => (await get('/api/health/ready')).status === 200,
      20_000,
    );
  });
});

describe('readiness while the API drains on shutdown', () => {
  it('answers ready 503 (draining) and live 200 during the drain, and still serves requests', async () => {
    const api = await startApi(testConfig({ 'server.drain_seconds': 2 }), quietLogger);
    const stopped = api.stop();
    const ready = await fetch(`${api.url}/api/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: 'unavailable',
      error: { code: 'service_unavailable', details: { draining: true } },
    });
    expect((await fetch(`${api.url}/api/health/live`)).status).toBe(200);
    expect((await fetch(`${api.url}/api/v1/openapi.json`)).status).toBe(200);
    await stopped;
  });
});
