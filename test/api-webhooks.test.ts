import { startRuntime, type Runtime } from './helpers/runtime';

describe('webhooks and analysis over REST', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('registers, lists, shows and deletes a webhook, never showing a chosen secret', async () => {
    const created = await rt.http('POST', '/api/v1/webhooks', {
      url: 'https://hooks.example.test/smart-steps',
      events: ['session.ended', 'message.created'],
      secret: 'chosen-secret-0123456789',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/webhooks/${created.body.webhook_id}`);
    expect(JSON.stringify(created.body)).not.toContain('chosen-secret');
    const id = created.body.webhook_id as string;

    const listed = await rt.http('GET', '/api/v1/webhooks?limit=5');
    expect(listed.body.webhooks.map((w: { webhook_id: string }) => w.webhook_id)).toContain(id);
    expect(listed.body.pagination).toMatchObject({ page: 1, page_size: 5 });
    const shown = await rt.http('GET', `/api/v1/webhooks/${id}`);
    expect(shown.body).toMatchObject({ webhook_id: id, status: 'active' });
    expect(JSON.stringify(shown.body)).not.toContain('chosen-secret');

    expect((await rt.http('DELETE', `/api/v1/webhooks/${id}`)).status).toBe(204);
    expect((await rt.http('GET', `/api/v1/webhooks/${id}`)).status).toBe(404);
    expect((await rt.http('DELETE', `/api/v1/webhooks/${id}`)).status).toBe(404);
  });

  it('generates a secret when none is given and shows it only in the create answer', async () => {
    const created = await rt.http('POST', '/api/v1/webhooks', {
      url: 'https://hooks.example.test/generated',
      events: ['*'],
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const shown = await rt.http('GET', `/api/v1/webhooks/${created.body.webhook_id}`);
    expect(shown.body).not.toHaveProperty('secret');
  });

  it('refuses unknown events and non-HTTP URLs with 422 naming the field', async () => {
    const badEvent = await rt.http('POST', '/api/v1/webhooks', {
      url: 'https://hooks.example.test/x',
      events: ['session.exploded'],
    });
    expect(badEvent.status).toBe(422);
    expect(badEvent.body.error.details.field).toMatch(/^events/);
    const badUrl = await rt.http('POST', '/api/v1/webhooks', {
      url: 'ftp://hooks.example.test/x',
      events: ['session.ended'],
    });
    expect(badUrl.status).toBe(422);
    expect(badUrl.body.error.details.field).toBe('url');
  });

  it('answers analysis requests for unknown records with 404 and bad periods with 422', async () => {
    const summary = await rt.http('POST', '/api/v1/sessions/s_doesnotexist00/analyze/summary');
    expect(summary.status).toBe(404);
    const client = await rt.newClient();
    const backwards = await rt.http('POST', `/api/v1/clients/${client}/analyze/progress`, {
      start_date: '2025-05-11',
      end_date: '2025-04-01',
    });
    expect(backwards.status).toBe(422);
    expect(backwards.body.error.details.field).toBe('end_date');
    const empty = await rt.http('POST', `/api/v1/clients/${client}/analyze/progress`);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ client_id: client, sessions_analyzed: 0, metrics: {} });
  });
});
