/**
 * The right of access: `GET /clients/{id}/export` returns everything held about a client —
 * the record, every session with its whole transcript (past the 50 messages a session view
 * holds), notes and analysis — to those who may see the client, and the export is audited.
 */
import { collectEvents, startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

describe('client export', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => rt?.stop());

  it('returns the client, whole transcripts, notes and analysis, and records the export', async () => {
    const clientId = await rt.newClient({ first_name: 'Export', email: 'export@example.com' });
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
      goals: ['Sleep better'],
    });
    const sessionId = created.body.session_id as string;
    const events = await collectEvents(rt.bus, sessionId);
    await rt.http('POST', `/api/v1/sessions/${sessionId}/start`);
    // More than the session view keeps, as facilitator messages (no persona reply each).
    const sent: string[] = [];
    for (let i = 0; i < 55; i++) {
      const res = await rt.http('POST', `/api/v1/sessions/${sessionId}/messages`, {
        content: `Facilitator line ${i}`,
        sender_type: 'facilitator',
      });
      sent.push(res.body.id as string);
    }
    await rt.http('POST', `/api/v1/sessions/${sessionId}/notes`, { content: 'Calmer today.' });
    await rt.http('POST', `/api/v1/sessions/${sessionId}/end`);
    await events.next((e) => e.event === 'session.ended', 'session.ended');
    await events.stop();

    const res = await rt.http('GET', `/api/v1/clients/${clientId}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`${clientId}-export.json`);
    const body = res.body;
    expect(body.client).toMatchObject({ client_id: clientId, email: 'export@example.com' });
    expect(body.sessions).toHaveLength(1);
    const [session] = body.sessions;
    expect(session).toMatchObject({
      session_id: sessionId,
      status: 'completed',
      goals: ['Sleep better'],
      summary: expect.any(String),
    });
    const ids = session.messages.map((m: { id: string }) => m.id);
    for (const id of sent) expect(ids).toContain(id);
    expect(session.messages.length).toBeGreaterThan(55);
    expect(session.facilitator_notes).toEqual([
      expect.objectContaining({ content: 'Calmer today.' }),
    ]);
    // Store bookkeeping stays out.
    expect(JSON.stringify(body)).not.toMatch(/view_|owner_id|"_id"/);

    await waitFor('the export in the audit log', async () => {
      const audit = await rt.http(
        'GET',
        `/api/v1/audit?action=client.export&resource_id=${clientId}`,
      );
      return audit.body.entries.length === 1 ? audit.body.entries : undefined;
    });
  });

  it("is refused for another facilitator's client, as if it did not exist", async () => {
    const ana = await rt.signIn('facilitator', 'ana');
    const ben = await rt.signIn('facilitator', 'ben');
    const clientId = await rt.newClient({}, ana.http);
    expect((await ben.http('GET', `/api/v1/clients/${clientId}/export`)).status).toBe(404);
    expect((await ana.http('GET', `/api/v1/clients/${clientId}/export`)).status).toBe(200);
  });
});
