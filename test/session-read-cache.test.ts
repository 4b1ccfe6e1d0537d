/**
 * The API's session read cache, as apps behind two API instances would notice it: a session
 * read from memory, yet every change made through either instance (or by the workflow) shows on
 * both straight after — the NATS events and notices drop stale copies long before the TTL — and
 * a cached session is never shown to someone who may not see it, nor after the client's erasure.
 */
import { start as startApi, type ApiServer } from '../api/server';
import {
  collectEvents,
  httpClient,
  startRuntime,
  type Http,
  type Runtime,
} from './helpers/runtime';
import { quietLogger, waitFor } from './helpers/stack';

describe('session read cache', () => {
  let rt: Runtime;
  let second: ApiServer;
  let a: Http;
  let b: Http;

  beforeAll(async () => {
    // A TTL far beyond the test: what refreshes a copy here is invalidation, not expiry.
    rt = await startRuntime({ 'performance.cache.ttl_seconds': 3600 });
    second = await startApi(rt.config, quietLogger);
    a = rt.http;
    b = httpClient(second.url, rt.admin.token);
  });
  afterAll(async () => {
    await second?.stop();
    await rt?.stop();
  });

  async function activeSession(): Promise<string> {
    const res = await a('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('cache'),
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    const id = res.body.session_id as string;
    const events = await collectEvents(rt.bus, id);
    await a('POST', `/api/v1/sessions/${id}/start`);
    await events.next((e) => e.event === 'message.created', 'the opening greeting');
    await events.stop();
    return id;
  }

  it('serves a session from memory until something announces a change', async () => {
    const id = await activeSession();
    const first = await b('GET', `/api/v1/sessions/${id}`);
    expect(first.status).toBe(200);
    // Changed behind the API's back (no event, no notice): the cached copy is still served…
    await rt.api.connections.store.db
      .collection('sessions')
      .updateOne({ _id: id as never }, { $set: { goals: ['changed behind the cache'] } });
    expect((await b('GET', `/api/v1/sessions/${id}`)).body.goals).toEqual(first.body.goals);
    // …until a change is announced: a note through the other instance.
    await a('POST', `/api/v1/sessions/${id}/notes`, { content: 'Noted.' });
    const fresh = await waitFor('the second instance to drop its copy', async () => {
      const res = await b('GET', `/api/v1/sessions/${id}`);
      return res.body.facilitator_notes.length === 1 ? res.body : undefined;
    });
    expect(fresh.goals).toEqual(['changed behind the cache']);
  });

  it('shows each instance its own changes at once, and the other instance promptly', async () => {
    const id = await activeSession();
    await a('GET', `/api/v1/sessions/${id}`);
    await b('GET', `/api/v1/sessions/${id}`);

    const sent = await a('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'I slept better this week.',
      sender_type: 'client',
    });
    // Read-your-writes on the same instance, with no wait.
    const own = await a('GET', `/api/v1/sessions/${id}`);
    expect(own.body.messages.map((m: { id: string }) => m.id)).toContain(sent.body.id);
    // The persona's reply, written by a worker, reaches both instances' readers.
    for (const api of [a, b]) {
      await waitFor('the reply on both instances', async () => {
        const res = await api('GET', `/api/v1/sessions/${id}`);
        const persona = res.body.messages.filter(
          (m: { sender_type: string }) => m.sender_type === 'persona',
        );
        return persona.length >= 2 ? true : undefined;
      });
    }

    // Ending saves the status before the analysis, without an event: a notice covers it.
    const ended = await a('POST', `/api/v1/sessions/${id}/end`);
    expect(ended.body.status).toBe('completed');
    expect((await a('GET', `/api/v1/sessions/${id}`)).body.status).toBe('completed');
    await waitFor('the other instance to see the end', async () =>
      (await b('GET', `/api/v1/sessions/${id}`)).body.status === 'completed' ? true : undefined,
    );
    await waitFor('the summary on the other instance', async () =>
      (await b('GET', `/api/v1/sessions/${id}`)).body.summary ? true : undefined,
    );
  });

  it('never shows a cached session to a facilitator who may not see it', async () => {
    const id = await activeSession();
    expect((await b('GET', `/api/v1/sessions/${id}`)).status).toBe(200);
    const stranger = await rt.signIn('facilitator', 'stranger');
    const theirs = httpClient(second.url, stranger.token);
    expect((await theirs('GET', `/api/v1/sessions/${id}`)).status).toBe(404);
    expect(
      (await theirs('POST', `/api/v1/sessions/${id}/notes`, { content: 'sneaky' })).status,
    ).toBe(404);
  });

  it('forgets an erased client’s cached sessions on every instance', async () => {
    const clientId = await rt.newClient({ first_name: 'Cached' });
    const created = await a('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    const id = created.body.session_id as string;
    expect((await b('GET', `/api/v1/sessions/${id}`)).status).toBe(200);
    expect((await a('DELETE', `/api/v1/clients/${clientId}`)).status).toBe(204);
    expect((await a('GET', `/api/v1/sessions/${id}`)).status).toBe(404);
    await waitFor('the erased session to be gone on the other instance', async () =>
      (await b('GET', `/api/v1/sessions/${id}`)).status === 404 ? true : undefined,
    );
  });
});
