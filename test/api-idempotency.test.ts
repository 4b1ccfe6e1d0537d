import { randomUUID } from 'node:crypto';
import { startRuntime, type Runtime } from './helpers/runtime';

describe('Idempotency-Key on POST', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const post = (path: string, body: unknown, key?: string, as = rt.http) =>
    as('POST', path, body, key ? { 'Idempotency-Key': key } : {});

  it('replays the first answer to a retried create, creating nothing twice', async () => {
    const key = randomUUID();
    const body = {
      client_id: await rt.clientId('idem'),
      persona_id: 'dr_morgan_hayes',
      goals: ['Retry safely'],
    };
    const first = await post('/api/v1/sessions', body, key);
    const again = await post('/api/v1/sessions', body, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/api/v1/sessions/${first.body.session_id}`);
    const listed = await rt.http('GET', `/api/v1/sessions?client_id=${await rt.clientId('idem')}`);
    expect(listed.body.pagination.total).toBe(1);
  });

  it('sends a retried message once', async () => {
    const s = await post('/api/v1/sessions', {
      client_id: await rt.clientId('idem2'),
      persona_id: 'sam_taylor',
    });
    await rt.http('POST', `/api/v1/sessions/${s.body.session_id}/start`);
    const key = randomUUID();
    const msg = { content: 'Did this arrive?', sender_type: 'facilitator' };
    const first = await post(`/api/v1/sessions/${s.body.session_id}/messages`, msg, key);
    const again = await post(`/api/v1/sessions/${s.body.session_id}/messages`, msg, key);
    expect(again.body.id).toBe(first.body.id);
    const transcript = await rt.http('GET', `/api/v1/sessions/${s.body.session_id}/messages`);
    expect(
      transcript.body.messages.filter((m: { content: string }) => m.content === 'Did this arrive?'),
    ).toHaveLength(1);
  });

  it('answers 409 when a key is reused with another body, and 422 for a malformed key', async () => {
    const key = randomUUID();
    await post('/api/v1/clients', { first_name: 'Ana', last_name: 'One' }, key);
    const other = await post('/api/v1/clients', { first_name: 'Ana', last_name: 'Two' }, key);
    expect(other.status).toBe(409);
    expect(other.body.error.message).toMatch(/different request body/);
    const malformed = await post('/api/v1/clients', { first_name: 'A', last_name: 'B' }, 'x');
    expect(malformed.status).toBe(422);
    expect(malformed.body.error.details.field).toBe('Idempotency-Key');
  });

  it('lets a request that failed be retried with the same key', async () => {
    const key = randomUUID();
    const bad = await post(
      '/api/v1/sessions',
      { client_id: await rt.clientId('idem3'), persona_id: 'dr_nobody' },
      key,
    );
    expect(bad.status).toBe(422);
    const againBad = await post(
      '/api/v1/sessions',
      { client_id: await rt.clientId('idem3'), persona_id: 'dr_nobody' },
      key,
    );
    expect(againBad.status).toBe(422);
    expect(againBad.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keeps each caller’s keys apart: the same key from another user is a new request', async () => {
    const key = randomUUID();
    const other = await rt.signIn('facilitator', 'other');
    const mine = await post('/api/v1/clients', { first_name: 'Key', last_name: 'Mine' }, key);
    const theirs = await post(
      '/api/v1/clients',
      { first_name: 'Key', last_name: 'Mine' },
      key,
      other.http,
    );
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.client_id).not.toBe(mine.body.client_id);
  });
});
