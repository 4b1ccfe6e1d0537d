/**
 * The right to erasure as a client would ask for it: `DELETE /clients/{id}` stops the client's
 * running session, deletes the Temporal histories of their sessions and analyses, removes their
 * record, transcripts, notes, analyses, sessions and series from MongoDB, and is audited — while
 * another client's data stays untouched.
 */
import { collectEvents, startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

describe('erasing a client', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => rt?.stop());

  /** A client with a completed session, an active one, a scheduled one and a series. */
  async function clientWithHistory(name: string) {
    const clientId = await rt.newClient({ first_name: name, email: `${name}@example.org` });
    const session = async () => {
      const res = await rt.http('POST', '/api/v1/sessions', {
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        duration_minutes: 30,
      });
      return res.body.session_id as string;
    };
    const completed = await session();
    const events = await collectEvents(rt.bus, completed);
    await rt.http('POST', `/api/v1/sessions/${completed}/start`);
    await rt.http('POST', `/api/v1/sessions/${completed}/messages`, {
      content: `${name} has been sleeping badly`,
      sender_type: 'client',
    });
    await events.next(
      (e) => e.event === 'message.created' && e.data.message.sender_type === 'persona',
      'a reply',
    );
    await rt.http('POST', `/api/v1/sessions/${completed}/notes`, { content: `${name} note` });
    await rt.http('POST', `/api/v1/sessions/${completed}/end`);
    await events.next((e) => e.event === 'session.ended', 'session.ended');
    await events.stop();

    const active = await session();
    await rt.http('POST', `/api/v1/sessions/${active}/start`);
    await rt.http('POST', `/api/v1/sessions/${active}/messages`, {
      content: 'still here',
      sender_type: 'facilitator',
    });
    const scheduled = (
      await rt.http('POST', '/api/v1/sessions', {
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        duration_minutes: 30,
        scheduled_at: new Date(Date.now() + 86_400_000).toISOString(),
      })
    ).body.session_id as string;
    const series = await rt.http('POST', '/api/v1/session-series', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
      recurrence: { interval_seconds: 86_400, timezone: 'UTC' },
    });
    expect(series.status).toBe(201);
    const progress = await rt.http('POST', `/api/v1/clients/${clientId}/analyze/progress`, {});
    expect(progress.status).toBe(200);
    return {
      clientId,
      sessions: [completed, active, scheduled],
      seriesId: series.body.series_id as string,
    };
  }

  // Long: Temporal's deletion of the histories is asynchronous.
  jest.setTimeout(180_000);

  it('stops, deletes and forgets everything held about the client, and only that', async () => {
    const gone = await clientWithHistory('Erasmina');
    const kept = await clientWithHistory('Keeperton');
    const temporal = rt.api.connections.temporal.client;
    const db = rt.api.connections.store.db;
    // The analysis workflow is tagged with the client, so erasure can find it.
    const tagged = (clientId: string) =>
      waitFor(`workflows tagged ${clientId}`, async () => {
        const ids: string[] = [];
        for await (const wf of temporal.workflow.list({ query: `ClientId = "${clientId}"` })) {
          ids.push(wf.workflowId);
        }
        return ids.some((id) => id.startsWith('analysis-progress-')) ? ids : undefined;
      });
    await tagged(gone.clientId);

    const erased = await rt.http('DELETE', `/api/v1/clients/${gone.clientId}`);
    expect(erased.status).toBe(204);

    // Through the API: nothing left.
    expect((await rt.http('GET', `/api/v1/clients/${gone.clientId}`)).status).toBe(404);
    for (const id of gone.sessions) {
      expect((await rt.http('GET', `/api/v1/sessions/${id}`)).status).toBe(404);
    }
    expect((await rt.http('GET', `/api/v1/session-series/${gone.seriesId}`)).status).toBe(404);

    // In the store: no document names the client or its sessions, and no word of theirs remains.
    const raw: string[] = [];
    for (const { name } of await db.listCollections().toArray()) {
      if (name === 'audit_log') continue;
      for (const doc of await db.collection(name).find({}).toArray()) raw.push(JSON.stringify(doc));
    }
    const all = raw.join('\n');
    for (const id of [gone.clientId, gone.seriesId, ...gone.sessions]) {
      expect({ id, found: all.includes(id) }).toEqual({ id, found: false });
    }

    // In Temporal: the session workflows are gone with their histories (the active one was
    // stopped first), and so is the progress analysis.
    // The running session is stopped at once…
    const stopped = await temporal.workflow
      .getHandle(`session-${gone.sessions[1]}`)
      .describe()
      .then(
        (d) => d.status.name,
        () => 'deleted',
      );
    expect(['TERMINATED', 'deleted']).toContain(stopped);
    // …and Temporal deletes executions with their histories in the background (the dev server
    // deletes a running one within a second, a completed one in about half a minute).
    await Promise.all(
      gone.sessions.map((id) =>
        waitFor(
          `session-${id} to be deleted`,
          () =>
            temporal.workflow
              .getHandle(`session-${id}`)
              .describe()
              .then(
                () => undefined,
                (err: Error) => /not found/i.test(err.message),
              ),
          120_000,
        ),
      ),
    );
    await expect(temporal.schedule.getHandle(`series-${gone.seriesId}`).describe()).rejects.toThrow(
      /not found/i,
    );
    // The analysis workflow is completed, so its record goes on the slower path (tens of
    // seconds, longer on a busy machine). A timeout names what is left.
    await waitFor(
      'the visibility records to go',
      async () => {
        const left: string[] = [];
        for await (const wf of temporal.workflow.list({ query: `ClientId = "${gone.clientId}"` })) {
          left.push(`${wf.workflowId} (${wf.status.name})`);
        }
        if (left.length) throw new Error(`still listed: ${left.join(', ')}`);
        return true;
      },
      120_000,
    );

    // The other client is untouched.
    expect((await rt.http('GET', `/api/v1/clients/${kept.clientId}`)).status).toBe(200);
    const keptSession = await rt.http('GET', `/api/v1/sessions/${kept.sessions[0]}`);
    expect(keptSession.body.messages.length).toBeGreaterThan(1);
    expect(keptSession.body.facilitator_notes).toHaveLength(1);
    expect(
      (await temporal.workflow.getHandle(`session-${kept.sessions[1]}`).describe()).status.name,
    ).toBe('RUNNING');
    expect(await tagged(kept.clientId)).toEqual(
      expect.arrayContaining([`session-${kept.sessions[0]}`]),
    );

    // The erasure is on record, by id only.
    const audit = await waitFor('the erasure audit entry', async () => {
      const res = await rt.http(
        'GET',
        `/api/v1/audit?action=client.delete&resource_id=${gone.clientId}`,
      );
      return res.body.entries?.length ? res.body.entries : undefined;
    });
    expect(audit[0]).toMatchObject({ action: 'client.delete', outcome: 'success' });
    expect(JSON.stringify(audit)).not.toContain('Erasmina');
  });
});
