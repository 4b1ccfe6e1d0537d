/**
 * API keys as an operator manages them: restricted to client addresses (REST and WebSocket),
 * and rotated with an overlap during which both the old and the new key work.
 */
import { ApiKeyStore } from '../lib/auth/api-keys';
import { httpClient, startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger } from './helpers/stack';
import { TestSocket } from './helpers/ws';

describe('API key management', () => {
  let rt: Runtime;
  let keys: ApiKeyStore;

  beforeAll(async () => {
    // No key cache in the API, so a changed expiry is seen at the next request.
    rt = await startRuntime(
      { 'auth.api_keys.cache_seconds': 0 },
      { sessionWorker: false, personaWorker: false },
    );
    keys = new ApiKeyStore(rt.api.connections.store.db, {
      defaultExpiryDays: 90,
      cacheSeconds: 0,
      log: quietLogger,
      nc: rt.bus.nc,
    });
  });
  afterAll(async () => rt?.stop());

  it('refuses a key restricted to other addresses with 403, over REST and WebSocket', async () => {
    const elsewhere = await keys.generate({
      name: 'Office only',
      allowedIps: ['10.0.0.0/8'],
      createdBy: 'test',
    });
    expect(elsewhere.info.allowed_ips).toEqual(['10.0.0.0/8']);
    const refused = await httpClient(rt.api.url, elsewhere.key)('GET', '/api/v1/personas');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'permission_denied',
      message: 'This API key may not be used from this address',
    });

    const socket = await TestSocket.open(rt.api.url, { token: elsewhere.key });
    const closed = await socket.waitClosed();
    expect(closed.code).toBe(4001);

    const here = await keys.generate({
      name: 'Loopback',
      allowedIps: ['127.0.0.0/8', '::1'],
      createdBy: 'test',
    });
    expect((await httpClient(rt.api.url, here.key)('GET', '/api/v1/personas')).status).toBe(200);

    await expect(
      keys.generate({ name: 'Bad', allowedIps: ['not an address'], createdBy: 'test' }),
    ).rejects.toThrow(/not an address/);
  });

  it('rotates a key: the new one works at once, the old one until the overlap ends', async () => {
    const first = await keys.generate({
      name: 'Unity Client',
      scopes: ['personas:read'],
      createdBy: 'test',
    });
    const rotated = await keys.rotate(first.info.id, 1, 'test');
    expect(rotated.info).toMatchObject({
      name: 'Unity Client',
      scopes: ['personas:read'],
      rotated_from: first.info.id,
      status: 'active',
    });
    const overlapEnd = Date.parse(rotated.previous.expires_at!);
    expect(overlapEnd).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(overlapEnd).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000);
    expect((await httpClient(rt.api.url, rotated.key)('GET', '/api/v1/personas')).status).toBe(200);
    expect((await httpClient(rt.api.url, first.key)('GET', '/api/v1/personas')).status).toBe(200);

    // Without overlap the old key stops at once.
    const again = await keys.rotate(rotated.info.id, 0, 'test');
    const old = await httpClient(rt.api.url, rotated.key)('GET', '/api/v1/personas');
    expect(old.status).toBe(401);
    expect(old.body.error.message).toMatch(/expired/);
    expect((await httpClient(rt.api.url, again.key)('GET', '/api/v1/personas')).status).toBe(200);

    await expect(keys.rotate(rotated.info.id, 1, 'test')).rejects.toThrow(/not active/);
  });
});
