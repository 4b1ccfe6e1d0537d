import { FieldCrypto } from '../lib/crypto/fields';
import type { Message } from '../lib/schemas/session';
import { COLLECTIONS } from '../lib/store/collections';
import type { SessionViewFields } from '../lib/store/session-view';
import { startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

describe('personas and session listing over REST', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('lists personas in the spec shape and shows one in full', async () => {
    const list = await rt.http('GET', '/api/v1/personas');
    expect(list.status).toBe(200);
    expect(list.body.personas).toContainEqual({
      persona_id: 'dr_morgan_hayes',
      name: 'Dr. Morgan Hayes',
      type: 'therapist',
      specialization: 'cognitive_behavioral',
      description: 'Cognitive Behavioral Therapist specializing in anxiety and depression',
    });
    expect(list.body.personas.map((p: { persona_id: string }) => p.persona_id)).toEqual(
      expect.arrayContaining(['dr_alex_rivera', 'dr_morgan_hayes']),
    );

    const one = await rt.http('GET', '/api/v1/personas/dr_morgan_hayes');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      persona_id: 'dr_morgan_hayes',
      techniques: [
        'cognitive restructuring',
        'behavioral activation',
        'mindfulness',
        'graded exposure',
      ],
      suitable_for: ['anxiety', 'depression', 'stress management', 'phobias'],
      voice_settings: { pitch: 'medium', rate: 'medium', style: 'professional' },
      communication_style: { formality: 0.7, directiveness: 0.6, warmth: 0.8, complexity: 0.5 },
    });
    expect(one.body).not.toHaveProperty('version');

    // Paged like every list; by default one page holds the whole catalogue.
    const total = list.body.personas.length as number;
    expect(list.body.pagination).toEqual({ total, page: 1, page_size: 100, pages: 1 });
    const pageOf = async (page: number) =>
      (await rt.http('GET', `/api/v1/personas?limit=2&page=${page}`)).body;
    const first = await pageOf(1);
    expect(first.pagination).toEqual({ total, page: 1, page_size: 2, pages: Math.ceil(total / 2) });
    const second = await pageOf(2);
    expect([...first.personas, ...second.personas]).toEqual(list.body.personas.slice(0, 4));

    const missing = await rt.http('GET', '/api/v1/personas/dr_nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('resource_not_found');
  });

  it('lists sessions newest first, filtered by client and by a comma list of statuses, with pagination', async () => {
    const client = await rt.newClient();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await rt.http('POST', '/api/v1/sessions', {
        client_id: client,
        persona_id: 'dr_alex_rivera',
      });
      ids.push(res.body.session_id);
    }
    await rt.http('POST', `/api/v1/sessions/${ids[0]}/start`);
    await rt.http('POST', `/api/v1/sessions/${ids[1]}/cancel`);

    const all = await rt.http('GET', `/api/v1/sessions?client_id=${client}&limit=2&page=1`);
    expect(all.status).toBe(200);
    expect(all.body.pagination).toEqual({ total: 3, page: 1, page_size: 2, pages: 2 });
    expect(all.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([
      ids[2],
      ids[1],
    ]);
    expect(all.body.sessions[0]).toEqual({
      session_id: ids[2],
      client_id: client,
      persona_id: 'dr_alex_rivera',
      status: 'scheduled',
      duration_minutes: 45,
    });
    const page2 = await rt.http('GET', `/api/v1/sessions?client_id=${client}&limit=2&page=2`);
    expect(page2.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([ids[0]]);

    const filtered = await rt.http(
      'GET',
      `/api/v1/sessions?client_id=${client}&status=active,cancelled`,
    );
    expect(filtered.body.sessions.map((s: { status: string }) => s.status).sort()).toEqual([
      'active',
      'cancelled',
    ]);
    expect(
      filtered.body.sessions.find((s: { status: string }) => s.status === 'active').started_at,
    ).toMatch(/Z$/);

    const bad = await rt.http('GET', '/api/v1/sessions?status=active,sleeping');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.field).toMatch(/^status/);
  });

  it('filters sessions by persona and by a creation-time range, bounds in their own second included', async () => {
    const client = await rt.newClient();
    const book = async (persona_id: string) =>
      (await rt.http('POST', '/api/v1/sessions', { client_id: client, persona_id })).body
        .session_id as string;
    const early = await book('dr_morgan_hayes');
    const late = await book('dr_alex_rivera');
    // Creation times the test chooses: one half a second into 09:00:00, one at 09:00:02.
    const sessions = rt.api.connections.store.db.collection(COLLECTIONS.sessions);
    await sessions.updateOne(
      { _id: early as never },
      { $set: { created_at: '2030-02-01T09:00:00.500Z' } },
    );
    await sessions.updateOne(
      { _id: late as never },
      { $set: { created_at: '2030-02-01T09:00:02.000Z' } },
    );
    const ids = async (query: string) => {
      const res = await rt.http('GET', `/api/v1/sessions?client_id=${client}&${query}`);
      expect(res.status).toBe(200);
      return (res.body.sessions as { session_id: string }[]).map((s) => s.session_id);
    };
    expect(await ids('persona_id=dr_alex_rivera')).toEqual([late]);
    expect(await ids('from=2030-02-01T09:00:00Z')).toEqual([late, early]);
    expect(await ids('to=2030-02-01T09:00:00Z')).toEqual([]);
    expect(await ids('to=2030-02-01T09:00:01Z')).toEqual([early]);
    expect(await ids(`from=${encodeURIComponent('2030-02-01T10:00:01+01:00')}`)).toEqual([late]);
    expect(await ids('from=2030-02-01T09:00:00.5Z&to=2030-02-01T09:00:02Z')).toEqual([late, early]);
    const bad = await rt.http('GET', '/api/v1/sessions?from=yesterday');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toMatchObject({ field: 'from' });
  });

  it("pages a session's messages in order, and gives those after `since`", async () => {
    const res = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.newClient(),
      persona_id: 'dr_morgan_hayes',
    });
    const id = res.body.session_id as string;
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    await waitFor('the persona’s opening', async () => {
      const opened = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
      return opened.body.pagination.total === 1 || undefined;
    });
    // Persona and facilitator lines get no reply, so the transcript holds exactly these four.
    for (const [sender_type, content] of [
      ['persona', 'How has the week been?'],
      ['facilitator', 'Checking in.'],
      ['persona', 'Shall we begin?'],
    ]) {
      const sent = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
        content,
        sender_type,
      });
      expect(sent.status).toBe(201);
    }
    const all = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
    expect(all.body.pagination).toEqual({ total: 4, page: 1, page_size: 50, pages: 1 });
    const order = (all.body.messages as { id: string }[]).map((m) => m.id);
    expect(all.body.messages.slice(1).map((m: { content: string }) => m.content)).toEqual([
      'How has the week been?',
      'Checking in.',
      'Shall we begin?',
    ]);
    const page = async (query: string) => {
      const got = await rt.http('GET', `/api/v1/sessions/${id}/messages?${query}`);
      expect(got.status).toBe(200);
      return got.body as { messages: { id: string }[]; pagination: unknown };
    };
    const p1 = await page('limit=3&page=1');
    const p2 = await page('limit=3&page=2');
    expect(p2.pagination).toEqual({ total: 4, page: 2, page_size: 3, pages: 2 });
    expect([...p1.messages, ...p2.messages].map((m) => m.id)).toEqual(order);

    // Times the test chooses, the second half a second into the bound's own second.
    const messages = rt.api.connections.store.db.collection(COLLECTIONS.messages);
    const times = [
      '2030-03-01T10:00:00.000Z',
      '2030-03-01T10:00:00.500Z',
      '2030-03-01T10:00:01.000Z',
      '2030-03-01T10:00:01.250Z',
    ];
    for (const [i, messageId] of order.entries()) {
      await messages.updateOne({ _id: messageId as never }, { $set: { timestamp: times[i] } });
    }
    // And in the session's copy of its transcript (its view), which the reads use.
    const sessions = rt.api.connections.store.db.collection<SessionViewFields>(
      COLLECTIONS.sessions,
    );
    const fields = FieldCrypto.fromConfig(rt.config);
    const doc = await sessions.findOne({ _id: id as never });
    const view = JSON.parse(fields.openView(id, 'messages', doc!.view_messages!)) as Message[];
    const retimed = view.map((m) => ({ ...m, timestamp: times[order.indexOf(m.id)] }));
    await sessions.updateOne(
      { _id: id as never },
      { $set: { view_messages: fields.sealView(id, 'messages', JSON.stringify(retimed)) } },
    );
    const since = async (bound: string) =>
      (await page(`since=${encodeURIComponent(bound)}`)).messages.map((m) => m.id);
    expect(await since('2030-03-01T10:00:00Z')).toEqual(order.slice(1));
    expect(await since('2030-03-01T11:00:01+01:00')).toEqual(order.slice(3));
    expect(await since('2030-03-01T10:00:01.25Z')).toEqual([]);
  });
});
