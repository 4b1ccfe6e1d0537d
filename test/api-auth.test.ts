import { SignJWT } from 'jose';
import { ApiKeyStore } from '../lib/auth/api-keys';
import { quietLogger, TEST_JWT_SECRET, waitFor } from './helpers/stack';
import { httpClient, startRuntime, type Runtime, type SignedIn } from './helpers/runtime';

describe('API authentication', () => {
  let rt: Runtime;
  let jane: SignedIn;
  let keys: ApiKeyStore;

  beforeAll(async () => {
    rt = await startRuntime({}, { sessionWorker: false, personaWorker: false });
    jane = await rt.signIn('facilitator', 'jane');
    // As the CLI would: its own store, announcing revocations on NATS.
    keys = new ApiKeyStore(rt.api.connections.store.db, {
      defaultExpiryDays: 90,
      cacheSeconds: 30,
      log: quietLogger,
      nc: rt.bus.nc,
    });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const login = (username: string, password: string) =>
    rt.anonymous('POST', '/api/v1/auth/login', { username, password });

  it('logs in by username or e-mail and returns the spec’s token and expiry', async () => {
    const byEmail = await login(jane.email.toUpperCase(), jane.password);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body).toMatchObject({
      token: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      refresh_token: expect.stringMatching(/^rt_/),
      user: { email: jane.email, role: 'facilitator' },
    });
    const minutes = (Date.parse(byEmail.body.expires_at) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(1);
    expect(minutes).toBeLessThanOrEqual(60);
    const me = await httpClient(rt.api.url, byEmail.body.token)('GET', '/api/v1/auth/me');
    expect(me.body).toMatchObject({ kind: 'user', name: jane.email, role: 'facilitator' });
  });

  it('refuses a wrong password or unknown user alike, with the 401 envelope', async () => {
    const wrong = await login(jane.email, 'not-the-password');
    const unknown = await login('nobody@example.test', 'whatever-password');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({
        code: 'authentication_error',
        message: 'Invalid username or password',
        request_id: expect.any(String),
      });
    }
  });

  it('requires credentials on every non-public route', async () => {
    const none = await rt.anonymous('GET', '/api/v1/sessions');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const garbage = await rt.anonymous('GET', '/api/v1/sessions', undefined, {
      Authorization: 'Bearer not-a-token',
    });
    expect(garbage.status).toBe(401);
    const basic = await rt.anonymous('GET', '/api/v1/sessions', undefined, {
      Authorization: 'Basic dXNlcjpwYXNz',
    });
    expect(basic.status).toBe(401);
  });

  it('rejects a tampered, a foreign-signed and an expired JWT', async () => {
    const [header, payload, signature] = jane.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString(
      'base64url',
    );
    const sign = (secret: string, exp: number) =>
      new SignJWT({ ...claims, exp })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(secret));
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      tampered: `${header}.${promoted}.${signature}`,
      foreign: await sign('another-secret-that-is-long-enough-000000', now + 600),
      expired: await sign(TEST_JWT_SECRET, now - 120),
      unsigned: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
    };
    for (const [kind, token] of Object.entries(tokens)) {
      const res = await httpClient(rt.api.url, token)('GET', '/api/v1/clients');
      expect({ kind, status: res.status, code: res.body.error?.code }).toEqual({
        kind,
        status: 401,
        code: 'authentication_error',
      });
    }
    // The genuine one still works, so the failures above are about the changes.
    expect((await jane.http('GET', '/api/v1/clients')).status).toBe(200);
  });

  it('refreshes tokens once per refresh token and ends the login on reuse', async () => {
    const first = await login(jane.email, jane.password);
    const refreshed = await rt.anonymous('POST', '/api/v1/auth/refresh', {
      refresh_token: first.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
    const fresh = httpClient(rt.api.url, refreshed.body.token);
    expect((await fresh('GET', '/api/v1/clients')).status).toBe(200);

    const replay = await rt.anonymous('POST', '/api/v1/auth/refresh', {
      refresh_token: first.body.refresh_token,
    });
    expect(replay.status).toBe(401);
    // Someone replayed a used token: the whole login session ends, the new tokens included.
    const afterTheft = await rt.anonymous('POST', '/api/v1/auth/refresh', {
      refresh_token: refreshed.body.refresh_token,
    });
    expect(afterTheft.status).toBe(401);
    expect((await fresh('GET', '/api/v1/clients')).status).toBe(401);
  });

  it('logs out: the access and refresh tokens stop working at once', async () => {
    const session = await login(jane.email, jane.password);
    const http = httpClient(rt.api.url, session.body.token);
    expect((await http('GET', '/api/v1/sessions')).status).toBe(200);
    expect((await http('POST', '/api/v1/auth/logout')).status).toBe(204);
    expect((await http('GET', '/api/v1/sessions')).status).toBe(401);
    const refresh = await rt.anonymous('POST', '/api/v1/auth/refresh', {
      refresh_token: session.body.refresh_token,
    });
    expect(refresh.status).toBe(401);
  });

  it('accepts API keys, limits them to their scopes, and refuses revoked or expired ones', async () => {
    const { key, info } = await keys.generate({
      name: 'Unity Client',
      scopes: ['personas:read', 'sessions:read'],
      createdBy: 'test',
    });
    expect(key).toMatch(/^sk_ss_[A-Za-z0-9]{32}$/);
    const unity = httpClient(rt.api.url, key);
    expect((await unity('GET', '/api/v1/personas')).status).toBe(200);
    expect((await unity('GET', '/api/v1/auth/me')).body).toMatchObject({
      kind: 'api_key',
      id: info.id,
      name: 'Unity Client',
    });
    const denied = await unity('POST', '/api/v1/clients', { first_name: 'A', last_name: 'B' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      code: 'permission_denied',
      details: { required_scope: 'clients:write' },
    });

    await keys.revoke(info.id);
    await waitFor('the revoked key to be refused', async () => {
      const res = await unity('GET', '/api/v1/personas');
      return res.status === 401 ? res : undefined;
    });

    const old = await keys.generate({ name: 'Old', createdBy: 'test' });
    await rt.api.connections.store.db
      .collection('api_keys')
      .updateOne({ _id: old.info.id as never }, { $set: { expires_at: '2020-01-01T00:00:00Z' } });
    const expired = await httpClient(rt.api.url, old.key)('GET', '/api/v1/personas');
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it('lets a viewer read but not change anything', async () => {
    const viewer = await rt.signIn('viewer');
    expect((await viewer.http('GET', '/api/v1/clients')).status).toBe(200);
    const create = await viewer.http('POST', '/api/v1/clients', {
      first_name: 'Vi',
      last_name: 'Ewer',
    });
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('permission_denied');
  });
});
