/**
 * The audit log as an administrator reads it: logins (also failed ones), client reads, changes
 * and deletions, refused attempts on someone else's records — and never a secret.
 */
import { startRuntime, type Runtime, type SignedIn } from './helpers/runtime';
import { waitFor } from './helpers/stack';

describe('the audit log', () => {
  let rt: Runtime;
  let ana: SignedIn;
  let ben: SignedIn;

  beforeAll(async () => {
    rt = await startRuntime({}, { sessionWorker: false, personaWorker: false });
    ana = await rt.signIn('facilitator', 'ana');
    ben = await rt.signIn('facilitator', 'ben');
  });
  afterAll(async () => rt?.stop());

  /** Entries are written to MongoDB shortly after the answer (from the audit stream). */
  const entries = (query: string, count = 1) =>
    waitFor(`${count} audit entries for ${query}`, async () => {
      const res = await rt.http('GET', `/api/v1/audit?${query}`);
      expect(res.status).toBe(200);
      const found = res.body.entries as Array<Record<string, unknown>>;
      return found.length >= count ? found : undefined;
    });

  it('records logins, failed ones included, with the name tried but never the password', async () => {
    const wrong = await rt.anonymous('POST', '/api/v1/auth/login', {
      username: ana.email,
      password: 'not-her-password-at-all',
    });
    expect(wrong.status).toBe(401);
    const ok = await rt.anonymous('POST', '/api/v1/auth/login', {
      username: ana.email,
      password: ana.password,
    });
    expect(ok.status).toBe(200);

    const failed = await entries(`action=auth.login&actor_id=${encodeURIComponent(ana.email)}`);
    expect(failed[0]).toMatchObject({
      actor_type: 'anonymous',
      actor_id: ana.email,
      action: 'auth.login',
      outcome: 'failed',
      ip: expect.any(String),
      request_id: expect.stringMatching(/^req_/),
      at: expect.stringMatching(/Z$/),
    });
    const succeeded = await entries(`action=auth.login&actor_id=${ana.userId}`);
    expect(succeeded[0]).toMatchObject({ actor_type: 'user', outcome: 'success' });

    // Everything so far, straight from the database.
    await entries('action=audit.read', 2);
    const raw = JSON.stringify(
      await rt.api.connections.store.db.collection('audit_log').find({}).toArray(),
    );
    expect(raw).not.toContain('not-her-password-at-all');
    expect(raw).not.toContain(ana.password);
    expect(raw).not.toContain(ok.body.token);
  });

  it("records who created, read, changed and deleted a client, and another facilitator's refused reads", async () => {
    const created = await ana.http('POST', '/api/v1/clients', {
      first_name: 'Audited',
      last_name: 'Client',
      email: 'audited@example.com',
    });
    const id = created.body.client_id as string;
    expect((await ana.http('GET', `/api/v1/clients/${id}`)).status).toBe(200);
    expect(
      (await ana.http('PATCH', `/api/v1/clients/${id}`, { phone: '+1 555 0100' })).status,
    ).toBe(200);
    // Guessing ids does not work, and it is on record.
    expect((await ben.http('GET', `/api/v1/clients/${id}`)).status).toBe(404);
    expect((await ana.http('DELETE', `/api/v1/clients/${id}`)).status).toBe(204);

    const trail = await entries(`resource_type=client&resource_id=${id}`, 5);
    expect(trail.map((e) => [e.action, e.actor_id, e.outcome]).reverse()).toEqual([
      ['client.create', ana.userId, 'success'],
      ['client.read', ana.userId, 'success'],
      ['client.update', ana.userId, 'success'],
      ['client.read', ben.userId, 'not_found'],
      ['client.delete', ana.userId, 'success'],
    ]);
    // Identity, not content: the client's details are not copied into the log.
    expect(JSON.stringify(trail)).not.toContain('audited@example.com');
    expect(JSON.stringify(trail)).not.toContain('+1 555 0100');
  });

  it('takes from/to bounds to the second, as the session filters do, and an offset', async () => {
    const login = await rt.anonymous('POST', '/api/v1/auth/login', {
      username: ben.email,
      password: ben.password,
    });
    expect(login.status).toBe(200);
    const [entry] = await entries(`action=auth.login&actor_id=${ben.userId}`);
    const at = entry!.at as string; // stored with milliseconds
    const second = `${at.slice(0, 19)}Z`;
    const found = async (bounds: string) => {
      const res = await rt.http(
        'GET',
        `/api/v1/audit?action=auth.login&actor_id=${ben.userId}&${bounds}`,
      );
      expect(res.status).toBe(200);
      return (res.body.entries as Array<{ audit_id: string }>).some(
        (e) => e.audit_id === entry!.audit_id,
      );
    };
    // `…:05Z` sorts after `…:05.300Z` as a string; the bound must still mean that second's start.
    expect(await found(`from=${second}`)).toBe(true);
    expect(await found(`to=${second}`)).toBe(at.endsWith('.000Z'));
    // An hour after it, written in UTC+01:00.
    const local = new Date(Date.parse(at) + 2 * 3_600_000).toISOString().slice(0, 19);
    expect(await found(`to=${encodeURIComponent(`${local}+01:00`)}`)).toBe(true);
    expect((await rt.http('GET', '/api/v1/audit?from=yesterday')).status).toBe(422);
  });

  it('is for administrators only, and reading it is on record too', async () => {
    const refused = await ana.http('GET', '/api/v1/audit');
    expect(refused.status).toBe(403);
    const reads = await entries(`action=audit.read&actor_id=${ana.userId}`);
    expect(reads[0]).toMatchObject({ outcome: 'denied' });
    await entries('action=audit.read', 3);
    const page = await rt.http('GET', '/api/v1/audit?limit=2');
    expect(page.body.pagination).toMatchObject({ page: 1, page_size: 2 });
    expect(page.body.entries).toHaveLength(2);
  });
});
