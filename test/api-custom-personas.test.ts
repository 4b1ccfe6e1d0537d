import type { SessionDoc } from '../lib/store/collections';
import { COLLECTIONS } from '../lib/store/collections';
import { startRuntime, type Runtime } from './helpers/runtime';
import { unique, waitFor } from './helpers/stack';
import { personaDefinition } from './helpers/personas';

interface Msg {
  sender_type: string;
  content: string;
}

const definition = personaDefinition;

describe('custom personas over REST', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const sessionDoc = (id: string) =>
    rt.api.connections.store.db.collection<SessionDoc>(COLLECTIONS.sessions).findOne({ _id: id });

  const messagesOf = async (id: string): Promise<Msg[]> =>
    ((await rt.http('GET', `/api/v1/sessions/${id}`)).body as { messages: Msg[] }).messages;

  const newSession = async (personaId: string): Promise<string> => {
    const res = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('custom'),
      persona_id: personaId,
      goals: ['Find one small next step'],
    });
    expect(res.status).toBe(201);
    return res.body.session_id as string;
  };

  /** Starts a session, waits for the opening and for the reply to one client message. */
  const converse = async (id: string): Promise<Msg[]> => {
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    await waitFor('the opening', async () => (await messagesOf(id)).length === 1);
    const sent = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Work has been stressful, about a 7 out of 10.',
    });
    expect(sent.status).toBe(201);
    await waitFor('the reply', async () => (await messagesOf(id)).length === 3);
    return messagesOf(id);
  };

  const endAndSummary = async (id: string) => {
    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(200);
    return waitFor('the summary', async () => {
      const details = await rt.http('GET', `/api/v1/sessions/${id}`);
      return details.body.summary ? details.body : undefined;
    });
  };

  it('lets admins add and version a persona that sessions use at the version they started with', async () => {
    const id = unique('dr_custom')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_');

    const facilitator = await rt.signIn('facilitator');
    const denied = await facilitator.http('POST', '/api/v1/personas', definition(id, 'Dr. One'));
    expect(denied.status).toBe(403);

    const created = await rt.http('POST', '/api/v1/personas', definition(id, 'Dr. One'));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/personas/${id}`);
    expect(created.body).toMatchObject({ persona_id: id, name: 'Dr. One', version: 1 });
    expect((await rt.http('POST', '/api/v1/personas', definition(id, 'Dr. One'))).status).toBe(409);

    const list = await rt.http('GET', '/api/v1/personas');
    expect(list.body.personas).toContainEqual({
      persona_id: id,
      name: 'Dr. One',
      type: 'counselor',
      specialization: 'solution_focused',
      description: 'Dr. One, a solution-focused counsellor',
    });
    expect(list.body.personas.map((p: { persona_id: string }) => p.persona_id)).toContain(
      'dr_alex_rivera',
    );
    const readable = await facilitator.http('GET', `/api/v1/personas/${id}`);
    expect(readable.status).toBe(200);
    expect(readable.body).toMatchObject({ persona_id: id, name: 'Dr. One' });

    // A session created now keeps version 1, even after the persona changes.
    const before = await newSession(id);
    expect((await sessionDoc(before))?.persona_version).toBe(1);

    const { persona_id: _omit, ...v2 } = definition(id, 'Dr. Two');
    const replaced = await rt.http('PUT', `/api/v1/personas/${id}`, v2);
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ persona_id: id, name: 'Dr. Two', version: 2 });
    expect((await rt.http('GET', `/api/v1/personas/${id}`)).body.name).toBe('Dr. Two');

    const after = await newSession(id);
    expect((await sessionDoc(after))?.persona_version).toBe(2);

    const old = await converse(before);
    expect(old.map((m) => m.sender_type)).toEqual(['persona', 'client', 'persona']);
    expect(old[0]!.content).toContain('Hello, this is Dr. One.');
    const current = await converse(after);
    expect(current[0]!.content).toContain('Hello, this is Dr. Two.');

    // On-demand analysis while active reads the session's own version too.
    const interim = await rt.http('POST', `/api/v1/sessions/${before}/analyze/summary`);
    expect(interim.status).toBe(200);
    expect(interim.body).toMatchObject({ session_id: before, summary: expect.any(String) });

    const summary = await endAndSummary(before);
    expect(summary).toMatchObject({ status: 'completed', summary: expect.any(String) });
    expect((await sessionDoc(before))?.persona_version).toBe(1);
    await endAndSummary(after);
  });

  it('validates definitions (422 naming the field) and keeps built-in personas read-only', async () => {
    const id = unique('dr_invalid')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_');
    const bad = await rt.http('POST', '/api/v1/personas', {
      ...definition(id, 'Dr. Bad'),
      communication_style: { formality: 2, directiveness: 0.5, warmth: 0.5, complexity: 0.5 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.field).toBe('communication_style.formality');

    const versioned = await rt.http('POST', '/api/v1/personas', {
      ...definition(id, 'Dr. Bad'),
      version: 3,
    });
    expect(versioned.status).toBe(422);

    const mismatch = await rt.http('PUT', `/api/v1/personas/${id}`, definition('dr_other', 'X'));
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.details.field).toBe('persona_id');

    const { persona_id: _omit, ...body } = definition(id, 'Dr. Nobody');
    expect((await rt.http('PUT', `/api/v1/personas/${id}`, body)).status).toBe(404);

    const builtIn = await rt.http('PUT', '/api/v1/personas/dr_alex_rivera', body);
    expect(builtIn.status).toBe(409);
    expect(
      (await rt.http('POST', '/api/v1/personas', definition('dr_alex_rivera', 'Dr. Copy'))).status,
    ).toBe(409);
  });
});
