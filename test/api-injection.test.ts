/**
 * Hostile input as an attacker would send it: MongoDB operators where values belong (in the
 * query string and in JSON bodies), bodies too large or nested too deeply. Each is refused with
 * the error envelope and returns no data.
 */
import { startRuntime, type Runtime } from './helpers/runtime';

describe('hostile input', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({}, { sessionWorker: false, personaWorker: false });
    await rt.newClient({ first_name: 'Visible', email: 'visible@example.com' });
  });
  afterAll(async () => rt?.stop());

  const refusedWithEnvelope = (res: { status: number; body: any }) => {
    expect([400, 422]).toContain(res.status);
    expect(res.body).toEqual({
      error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
    });
    expect(JSON.stringify(res.body)).not.toContain('visible@example.com');
  };

  it.each([
    '/api/v1/clients?search[$gt]=',
    '/api/v1/clients?search[$regex]=.*',
    '/api/v1/clients?$where=1',
    '/api/v1/sessions?client_id[$ne]=nobody',
    '/api/v1/sessions?status[$in]=active',
    '/api/v1/clients?limit[$gt]=0',
  ])('refuses operator syntax in the query string: %s', async (path) => {
    refusedWithEnvelope(await rt.http('GET', path));
  });

  it('refuses operators in place of login credentials, without logging anyone in', async () => {
    const res = await rt.anonymous('POST', '/api/v1/auth/login', {
      username: { $gt: '' },
      password: { $gt: '' },
    });
    refusedWithEnvelope(res);
    expect(res.body.token).toBeUndefined();
  });

  it.each([
    { first_name: { $where: 'this.email' }, last_name: 'X' },
    { first_name: 'A', last_name: 'B', email: { $ne: null } },
    { first_name: 'A', last_name: 'B', $set: { owner_id: 'u_attacker' } },
  ])('refuses operators in a JSON body: %j', async (body) => {
    refusedWithEnvelope(await rt.http('POST', '/api/v1/clients', body));
  });

  it('refuses operator keys inside free-form metadata', async () => {
    const client = await rt.newClient();
    const res = await rt.http('POST', '/api/v1/sessions', {
      client_id: client,
      persona_id: 'dr_morgan_hayes',
      metadata: { note: { $where: 'this.owner_id != null' } },
    });
    refusedWithEnvelope(res);
  });

  it('refuses a body nested too deeply with 400, and a body too large with 413', async () => {
    const deep = '['.repeat(5_000) + ']'.repeat(5_000);
    const nested = await fetch(`${rt.api.url}/api/v1/clients`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${rt.admin.token}`, 'Content-Type': 'application/json' },
      body: deep,
    });
    expect(nested.status).toBe(400);
    expect(await nested.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('nested') },
    });

    const large = await fetch(`${rt.api.url}/api/v1/clients`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${rt.admin.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ first_name: 'x'.repeat(2_000_000) }),
    });
    expect(large.status).toBe(413);
    expect(await large.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});
