/**
 * The codec endpoint as the Temporal Web UI and CLI use it: encode and decode in the codec
 * server's JSON form, for administrators only (decoding shows transcripts), on the audit record,
 * and reachable from the Temporal UI's browser origin but no other.
 */
import { ApiKeyStore } from '../lib/auth/api-keys';
import { loggablePath } from '../api/routes/codec';
import { httpClient, startRuntime, type Runtime, type SignedIn } from './helpers/runtime';
import { quietLogger, waitFor } from './helpers/stack';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
const UI_ORIGIN = 'http://127.0.0.1:8233';
const APP_ORIGIN = 'https://app.example.test';

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

describe('the Temporal codec endpoint', () => {
  let rt: Runtime;
  let facilitator: SignedIn;
  let keys: ApiKeyStore;

  const plain: JsonPayload = {
    metadata: { encoding: b64('json/plain') },
    data: b64(JSON.stringify({ content: 'The lighthouse again, every night.' })),
  };

  beforeAll(async () => {
    // The app's origin may call the API; that must not open the codec to it.
    rt = await startRuntime(
      { 'server.cors.allowed_origins': [APP_ORIGIN] },
      { sessionWorker: false, personaWorker: false },
    );
    facilitator = await rt.signIn('facilitator', 'fran');
    keys = new ApiKeyStore(rt.api.connections.store.db, {
      defaultExpiryDays: 90,
      cacheSeconds: 0,
      log: quietLogger,
      nc: rt.bus.nc,
    });
  });
  afterAll(async () => rt?.stop());

  it('encrypts payloads as the workers do and decrypts them back', async () => {
    const encoded = await rt.http('POST', '/codec/encode', { payloads: [plain] });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('cache-control')).toBe('no-store');
    const [sealed] = encoded.body.payloads as JsonPayload[];
    expect(unb64(sealed!.metadata.encoding!)).toBe('binary/encrypted');
    expect(unb64(sealed!.metadata['encryption-key-id']!)).toBe('t1');
    expect(unb64(sealed!.data)).not.toContain('lighthouse');

    // The UI sends the namespace along; and a payload that is not encrypted passes through.
    const decoded = await rt.http(
      'POST',
      '/codec/decode',
      { payloads: [sealed, plain] },
      { 'X-Namespace': 'default' },
    );
    expect(decoded.status).toBe(200);
    expect(decoded.body).toEqual({ payloads: [plain, plain] });
    // Proto JSON leaves an empty list out, as the Go SDK and the Temporal CLI send it.
    expect((await rt.http('POST', '/codec/decode', {})).body).toEqual({ payloads: [] });
  });

  it('answers 401 without credentials and 403 to a facilitator, in the error envelope', async () => {
    const anonymous = await rt.anonymous('POST', '/codec/decode', { payloads: [plain] });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(anonymous.body.error).toEqual({
      code: 'authentication_error',
      message: expect.any(String),
      details: {},
      request_id: expect.stringMatching(/^req_/),
    });
    const refused = await facilitator.http('POST', '/codec/decode', { payloads: [plain] });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'permission_denied',
      details: { required_scope: 'admin' },
    });
    expect((await facilitator.http('POST', '/codec/encode', { payloads: [plain] })).status).toBe(
      403,
    );
  });

  it('accepts an API key with the admin scope, also in the path for the Web UI, and no other', async () => {
    const admin = await keys.generate({
      name: 'Temporal UI',
      scopes: ['admin'],
      createdBy: 'test',
    });
    const reader = await keys.generate({
      name: 'Reader',
      scopes: ['sessions:read'],
      createdBy: 'test',
    });
    const sealed = (await rt.http('POST', '/codec/encode', { payloads: [plain] })).body
      .payloads as JsonPayload[];

    const byHeader = await httpClient(rt.api.url, admin.key)('POST', '/codec/decode', {
      payloads: sealed,
    });
    expect(byHeader.body).toEqual({ payloads: [plain] });
    // The UI appends /decode to the endpoint it is given: the key rides in that URL.
    const inPath = await rt.anonymous('POST', `/codec/token/${admin.key}/decode`, {
      payloads: sealed,
    });
    expect(inPath.status).toBe(200);
    expect(inPath.body).toEqual({ payloads: [plain] });

    const narrow = await rt.anonymous('POST', `/codec/token/${reader.key}/decode`, {
      payloads: sealed,
    });
    expect(narrow.status).toBe(403);
    const bogus = await rt.anonymous('POST', '/codec/token/sk_ss_notakeyatall/decode', {
      payloads: sealed,
    });
    expect(bogus.status).toBe(401);
    expect(bogus.body.error.code).toBe('authentication_error');
  });

  it('records who decoded and who was refused in the audit log', async () => {
    const key = await keys.generate({ name: 'Audited UI', scopes: ['admin'], createdBy: 'test' });
    await rt.http('POST', '/codec/decode', { payloads: [plain] });
    await facilitator.http('POST', '/codec/decode', { payloads: [plain] });
    await rt.anonymous('POST', `/codec/token/${key.key}/decode`, { payloads: [plain] });
    const entries = await waitFor('codec audit entries', async () => {
      const res = await rt.http('GET', '/api/v1/audit?action=temporal_payload.decode&limit=100');
      const found = res.body.entries as Array<Record<string, unknown>>;
      const admin = found.find((e) => e.actor_id === rt.admin.userId);
      const denied = found.find((e) => e.actor_id === facilitator.userId);
      const byKey = found.find((e) => e.actor_id === key.info.id);
      return admin && denied && byKey ? { admin, denied, byKey } : undefined;
    });
    expect(entries.admin).toMatchObject({
      actor_type: 'user',
      action: 'temporal_payload.decode',
      resource_type: 'temporal_payload',
      outcome: 'success',
    });
    expect(entries.denied).toMatchObject({ outcome: 'denied' });
    expect(entries.byKey).toMatchObject({ actor_type: 'api_key', outcome: 'success' });
    // An action and an outcome, never content or a path credential.
    const raw = JSON.stringify(
      await rt.api.connections.store.db.collection('audit_log').find({}).toArray(),
    );
    expect(raw).not.toContain('lighthouse');
    expect(raw).not.toContain(key.key);
  });

  it('refuses a payload that does not decrypt, or is not base64, with a validation error', async () => {
    const [sealed] = (await rt.http('POST', '/codec/encode', { payloads: [plain] })).body
      .payloads as JsonPayload[];
    const bytes = Buffer.from(sealed!.data, 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    const altered = await rt.http('POST', '/codec/decode', {
      payloads: [plain, { ...sealed, data: bytes.toString('base64') }],
    });
    expect(altered.status).toBe(422);
    expect(altered.body.error).toMatchObject({
      code: 'validation_error',
      details: { field: 'payloads.1', reason: "payload does not authenticate under key 't1'" },
    });
    const garbled = await rt.http('POST', '/codec/decode', {
      payloads: [{ metadata: { encoding: 'not base64!' } }],
    });
    expect(garbled.status).toBe(422);
    expect(garbled.body.error.details.field).toBe('payloads.0.metadata.encoding');
  });

  describe('from a browser', () => {
    const preflight = (path: string, origin: string) =>
      fetch(`${rt.api.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
        },
      });

    it('answers the Temporal UI’s preflight with the headers it sends', async () => {
      for (const path of ['/codec/decode', '/codec/encode', '/codec/token/sk_ss_x/decode']) {
        const res = await preflight(path, UI_ORIGIN);
        expect(res.status).toBe(204);
        expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
        expect(res.headers.get('access-control-allow-methods')).toBe('POST');
        const allowed = (res.headers.get('access-control-allow-headers') ?? '')
          .toLowerCase()
          .split(',');
        expect(allowed).toEqual(
          expect.arrayContaining(['authorization', 'content-type', 'x-namespace']),
        );
      }
      const real = await fetch(`${rt.api.url}/codec/decode`, {
        method: 'POST',
        headers: {
          Origin: 'http://localhost:8233',
          Authorization: `Bearer ${rt.admin.token}`,
          'Content-Type': 'application/json',
          'X-Namespace': 'default',
        },
        body: JSON.stringify({ payloads: [plain] }),
      });
      expect(real.status).toBe(200);
      expect(real.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    });

    it('gives no other origin access, not even one the API itself allows', async () => {
      for (const origin of ['https://evil.example.test', APP_ORIGIN]) {
        const res = await preflight('/codec/decode', origin);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        const real = await fetch(`${rt.api.url}/codec/decode`, {
          method: 'POST',
          headers: {
            Origin: origin,
            Authorization: `Bearer ${rt.admin.token}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ payloads: [plain] }),
        });
        expect(real.headers.get('access-control-allow-origin')).toBeNull();
      }
      // The API's own CORS is unchanged for its origin.
      const api = await preflight('/api/v1/sessions', APP_ORIGIN);
      expect(api.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(
        (await preflight('/api/v1/sessions', UI_ORIGIN)).headers.get('access-control-allow-origin'),
      ).toBeNull();
    });
  });
});

describe('logs of codec requests', () => {
  it('mask a credential carried in the path', () => {
    expect(loggablePath('/codec/token/sk_ss_secret123/decode')).toBe(
      '/codec/token/[redacted]/decode',
    );
    expect(loggablePath('/codec/decode')).toBe('/codec/decode');
    expect(loggablePath('/api/v1/sessions/s_1')).toBe('/api/v1/sessions/s_1');
  });
});
