import { startRuntime, type Runtime } from './helpers/runtime';

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
});
