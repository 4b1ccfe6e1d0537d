import { startRuntime, type Runtime, type SignedIn } from './helpers/runtime';

describe('Facilitators see only their own clients, sessions and webhooks', () => {
  let rt: Runtime;
  let alice: SignedIn;
  let bob: SignedIn;
  let clientId: string;
  let sessionId: string;
  let webhookId: string;

  beforeAll(async () => {
    rt = await startRuntime();
    alice = await rt.signIn('facilitator', 'alice');
    bob = await rt.signIn('facilitator', 'bob');
    clientId = await rt.newClient({ first_name: 'Jane', email: 'jane@example.test' }, alice.http);
    const session = await alice.http('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      scheduled_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(session.status).toBe(201);
    sessionId = session.body.session_id as string;
    const webhook = await alice.http('POST', '/api/v1/webhooks', {
      url: 'https://alice.example.test/hook',
      events: ['session.started'],
      secret: 'a-secret-of-sixteen-plus',
    });
    expect(webhook.status).toBe(201);
    webhookId = webhook.body.webhook_id as string;
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('stamps what a facilitator creates with their e-mail', async () => {
    const client = await alice.http('GET', `/api/v1/clients/${clientId}`);
    expect(client.body.created_by).toBe(alice.email);
    const session = await alice.http('GET', `/api/v1/sessions/${sessionId}`);
    expect(session.body.created_by).toBe(alice.email);
    expect(session.body).not.toHaveProperty('owner_id');
  });

  it("answers 404 for another facilitator's client, session and webhook, as if absent", async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', `/api/v1/clients/${clientId}`],
      ['PATCH', `/api/v1/clients/${clientId}`, { phone: '+1 555 0199' }],
      ['PUT', `/api/v1/clients/${clientId}`, { phone: '+1 555 0199' }],
      ['DELETE', `/api/v1/clients/${clientId}`],
      ['POST', `/api/v1/clients/${clientId}/analyze/progress`, {}],
      ['GET', `/api/v1/sessions/${sessionId}`],
      ['GET', `/api/v1/sessions/${sessionId}/messages`],
      ['POST', `/api/v1/sessions/${sessionId}/start`],
      ['POST', `/api/v1/sessions/${sessionId}/end`],
      ['POST', `/api/v1/sessions/${sessionId}/cancel`],
      ['POST', `/api/v1/sessions/${sessionId}/notes`, { content: 'Not my session' }],
      ['POST', `/api/v1/sessions/${sessionId}/messages`, { content: 'Hello?' }],
      ['POST', `/api/v1/sessions/${sessionId}/analyze/summary`],
      ['GET', `/api/v1/webhooks/${webhookId}`],
      ['DELETE', `/api/v1/webhooks/${webhookId}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await bob.http(method, path, body);
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({
        method,
        path,
        status: 404,
        code: 'resource_not_found',
      });
    }
    // Nothing changed: the session is still scheduled and the webhook still there.
    expect((await alice.http('GET', `/api/v1/sessions/${sessionId}`)).body.status).toBe(
      'scheduled',
    );
    expect((await alice.http('GET', `/api/v1/webhooks/${webhookId}`)).status).toBe(200);
  });

  it("leaves another facilitator's records out of lists and refuses to book their client", async () => {
    const clients = await bob.http('GET', '/api/v1/clients?search=Jane');
    expect(clients.body.clients).toEqual([]);
    const sessions = await bob.http('GET', `/api/v1/sessions?client_id=${clientId}`);
    expect(sessions.body).toMatchObject({ sessions: [], pagination: { total: 0 } });
    const hooks = await bob.http('GET', '/api/v1/webhooks');
    expect(hooks.body.webhooks).toEqual([]);
    const booking = await bob.http('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
    });
    expect(booking.status).toBe(422);
    expect(booking.body.error.details).toMatchObject({ field: 'client_id' });
  });

  it('lets an admin see and act on every facilitator’s records', async () => {
    expect((await rt.http('GET', `/api/v1/clients/${clientId}`)).status).toBe(200);
    expect((await rt.http('GET', `/api/v1/sessions/${sessionId}`)).status).toBe(200);
    expect((await rt.http('GET', `/api/v1/webhooks/${webhookId}`)).status).toBe(200);
    const listed = await rt.http('GET', `/api/v1/sessions?client_id=${clientId}`);
    expect(listed.body.pagination.total).toBe(1);
  });

  it('keeps client e-mails unique per facilitator: a duplicate is a 409', async () => {
    const again = await alice.http('POST', '/api/v1/clients', {
      first_name: 'Janet',
      last_name: 'Doe',
      email: 'JANE@example.test',
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'conflict', details: { field: 'email' } });
    // Bob's own client may share the address: his records are separate.
    const bobs = await bob.http('POST', '/api/v1/clients', {
      first_name: 'Jane',
      last_name: 'Roe',
      email: 'jane@example.test',
    });
    expect(bobs.status).toBe(201);
  });
});
