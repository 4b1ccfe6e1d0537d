import { DeliverPolicy } from '@nats-io/jetstream';
import type { LifecycleEvent } from '../lib/schemas/events';
import { startRuntime, type Runtime } from './helpers/runtime';

describe('clients over REST', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const jane = {
    first_name: 'Jane',
    last_name: 'Doe',
    email: 'jane.doe@example.com',
    phone: '+1-234-567-8901',
    date_of_birth: '1990-05-15',
    metadata: { referral_source: 'Dr. Smith', primary_concern: 'Anxiety' },
  };

  it('creates a client in the spec shape and announces client.created without personal details', async () => {
    const res = await rt.http('POST', '/api/v1/clients', jane);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      client_id: expect.stringMatching(/^c_[a-z0-9]{16}$/),
      ...jane,
      created_at: expect.stringMatching(/Z$/),
      created_by: rt.admin.email,
    });
    const id = res.body.client_id as string;

    const consumer = await rt.bus.js.consumers.get(rt.bus.stream, {
      filter_subjects: [`ss.events.client.${id}.>`],
      deliver_policy: DeliverPolicy.All,
    });
    const msg = await consumer.next({ expires: 5_000 });
    const evt = msg!.json<LifecycleEvent>();
    expect(evt).toMatchObject({
      event: 'client.created',
      data: { client_id: id, created_by: rt.admin.email },
    });
    expect(JSON.stringify(evt)).not.toContain('jane.doe@example.com');
    await consumer.delete();
  });

  it('finds clients by the start of a name or e-mail, newest first, in pages', async () => {
    const tag = `Zq${Date.now().toString(36)}`;
    const a = await rt.http('POST', '/api/v1/clients', { first_name: tag, last_name: 'Alpha' });
    const b = await rt.http('POST', '/api/v1/clients', {
      first_name: 'Omar',
      last_name: `${tag}son`,
      email: 'omar@example.com',
    });
    await rt.http('POST', '/api/v1/clients', { first_name: 'Unrelated', last_name: 'Person' });

    const found = await rt.http(
      'GET',
      `/api/v1/clients?search=${tag.toLowerCase()}&limit=10&page=1`,
    );
    expect(found.status).toBe(200);
    expect(found.body.clients.map((c: { client_id: string }) => c.client_id)).toEqual([
      b.body.client_id,
      a.body.client_id,
    ]);
    expect(found.body.clients[0]).toEqual({
      client_id: b.body.client_id,
      first_name: 'Omar',
      last_name: `${tag}son`,
      email: 'omar@example.com',
      created_at: b.body.created_at,
    });
    expect(found.body.pagination).toEqual({ total: 2, page: 1, page_size: 10, pages: 1 });
    // Regex characters in a search are taken literally.
    expect((await rt.http('GET', '/api/v1/clients?search=.*')).body.pagination.total).toBe(0);
  });

  it('shows session counts, updates fields, and erases a client along with the sessions still to come', async () => {
    const created = await rt.http('POST', '/api/v1/clients', {
      ...jane,
      email: 'jane.2@example.com',
    });
    const id = created.body.client_id as string;
    const s1 = await rt.http('POST', '/api/v1/sessions', {
      client_id: id,
      persona_id: 'dr_morgan_hayes',
    });
    const s2 = await rt.http('POST', '/api/v1/sessions', {
      client_id: id,
      persona_id: 'dr_morgan_hayes',
    });
    await rt.http('POST', `/api/v1/sessions/${s1.body.session_id}/start`);
    await rt.http('POST', `/api/v1/sessions/${s1.body.session_id}/end`);

    const details = await rt.http('GET', `/api/v1/clients/${id}`);
    expect(details.body).toMatchObject({
      ...jane,
      email: 'jane.2@example.com',
      client_id: id,
      updated_at: expect.any(String),
    });
    expect(details.body.session_count).toEqual({ total: 2, completed: 1, scheduled: 1 });

    const updated = await rt.http('PATCH', `/api/v1/clients/${id}`, {
      last_name: 'Smith',
      phone: null,
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ last_name: 'Smith', first_name: 'Jane' });
    expect(updated.body).not.toHaveProperty('phone');
    expect(Date.parse(updated.body.updated_at)).toBeGreaterThanOrEqual(
      Date.parse(created.body.created_at),
    );

    // Erasure does not wait for sessions to end: the scheduled one goes with the client.
    expect((await rt.http('DELETE', `/api/v1/clients/${id}`)).status).toBe(204);
    expect((await rt.http('GET', `/api/v1/clients/${id}`)).status).toBe(404);
    expect((await rt.http('GET', `/api/v1/sessions/${s2.body.session_id}`)).status).toBe(404);
    expect((await rt.http('DELETE', `/api/v1/clients/${id}`)).status).toBe(404);
  });

  it('names the invalid field', async () => {
    const bad = await rt.http('POST', '/api/v1/clients', {
      first_name: 'A',
      last_name: 'B',
      email: 'not-an-email',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.field).toBe('email');
    const dob = await rt.http('POST', '/api/v1/clients', {
      first_name: 'A',
      last_name: 'B',
      date_of_birth: '15/05/1990',
    });
    expect(dob.body.error.details.field).toBe('date_of_birth');
    const empty = await rt.http('PATCH', '/api/v1/clients/c_doesnotexist0000', {});
    expect(empty.status).toBe(422);
  });
});
