import { AddressGuard } from '../lib/webhooks/address-guard';
import { Deliverer } from '../lib/webhooks/deliver';
import { startReceiver } from './helpers/webhook-receiver';
import { startRuntime, type Runtime } from './helpers/runtime';

const register = (rt: Runtime, url: string) =>
  rt.http('POST', '/api/v1/webhooks', { url, events: ['session.*', 'alert.raised'] });

describe('webhook URLs that point into private networks', () => {
  let strict: Runtime;
  let allowing: Runtime;
  beforeAll(async () => {
    const noWorkers = { sessionWorker: false, personaWorker: false };
    strict = await startRuntime({}, noWorkers);
    allowing = await startRuntime(
      { 'webhooks.allowed_hosts': ['localhost', '10.0.0.0/8', '::1'] },
      noWorkers,
    );
  });
  afterAll(async () => {
    await strict?.stop();
    await allowing?.stop();
  });

  it.each([
    'http://10.0.0.5/x',
    'http://127.0.0.1:8080/hook',
    'http://[::1]/',
    'http://localhost:3000/hook',
    'http://169.254.169.254/latest/meta-data',
    'https://192.168.1.10/hook',
    'http://[fe80::1]/hook',
    'http://[fd12:3456::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://0.0.0.0/hook',
    'http://224.0.0.1/hook',
    'http://[ff02::1]/hook',
  ])('refuses %s with 422 naming the url', async (url) => {
    const res = await register(strict, url);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'validation_error', details: { field: 'url' } });
  });

  it('accepts public addresses, and hosts that do not resolve yet (delivery checks again)', async () => {
    expect((await register(strict, 'https://93.184.215.14/hook')).status).toBe(201);
    expect((await register(strict, 'https://hooks.example.test/hook')).status).toBe(201);
  });

  it('accepts private hosts the configuration allows, and only those', async () => {
    for (const url of ['http://localhost:3000/hook', 'http://10.0.0.5/x', 'http://[::1]/']) {
      expect((await register(allowing, url)).status).toBe(201);
    }
    expect((await register(allowing, 'http://192.168.1.10/x')).status).toBe(422);
    expect((await register(allowing, 'http://127.0.0.1/x')).status).toBe(422);
  });

  it('documents the delivery routes in the OpenAPI document', async () => {
    const doc = (await strict.anonymous('GET', '/api/v1/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/webhooks/{id}/deliveries',
        '/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver',
        '/api/v1/webhooks/{id}/ping',
      ]),
    );
    expect(
      Object.keys(
        doc.paths['/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver'].post.responses,
      ),
    ).toEqual(expect.arrayContaining(['202', '404', '409']));
  });

  it('refuses at delivery time too, when the address is no longer allowed', async () => {
    const r = await startReceiver('delivery-secret-0123456789');
    try {
      const settings = { ...strict.config.webhooks, allowed_hosts: [] };
      const target = { url: r.url(), secret: 'delivery-secret-0123456789' };
      const payload = { event: 'ping', timestamp: new Date().toISOString(), data: {} };
      const refused = await new Deliverer(settings).attempt(target, 'evt_x', payload);
      expect(refused).toMatchObject({ success: false, error: expect.stringMatching(/^refused/) });
      expect(r.received).toHaveLength(0);
      const allowed = await new Deliverer({ ...settings, allowed_hosts: ['127.0.0.0/8'] }).attempt(
        target,
        'evt_x',
        payload,
      );
      expect(allowed).toMatchObject({ success: true, status_code: 200 });
      expect(r.received).toHaveLength(1);
      expect(r.received[0]!.verified).toBe(true);
    } finally {
      await r.close();
    }
    const guard = new AddressGuard([]);
    await expect(guard.resolve(new URL('http://localhost/hook'))).rejects.toThrow(
      /resolves to 127\.0\.0\.1/,
    );
    expect(guard.permits('8.8.8.8')).toBe(true);
    expect(guard.permits('2606:4700::1111')).toBe(true);
    expect(guard.permits('::ffff:7f00:1')).toBe(false);
    expect(guard.permits('100.64.0.1')).toBe(false);
  });
});
