import { SessionService } from '../api/sessions/service';
import { newId } from '../lib/ids';
import { loadPersonaDefinitions, PersonaRegistry } from '../personas/registry';
import { collectEvents, startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

describe('session timers and recurring series', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('ends a session by itself when its duration is spent, after a wrap-up from the persona', async () => {
    const service = new SessionService(
      rt.api.connections.temporal.client,
      rt.api.connections.store.db,
      rt.config,
      new PersonaRegistry(loadPersonaDefinitions()),
    );
    // The API takes whole minutes; the workflow's timers work on any length, which keeps this test short.
    const id = newId('session');
    await service.startWorkflow({
      session_id: id,
      client_id: await rt.clientId('timer'),
      persona_id: 'dr_jordan_lee',
      goals: ['Cut down on caffeine'],
      duration_minutes: 0.1,
      created_at: new Date().toISOString(),
      created_by: 'test',
      metadata: {},
    });
    const events = await collectEvents(rt.bus, id);
    const started = await rt.http('POST', `/api/v1/sessions/${id}/start`);
    expect(started.status).toBe(200);

    const ended = await events.next((e) => e.event === 'session.ended', 'session.ended', 30_000);
    const data = ended.data as { started_at: string; ended_at: string; summary?: string };
    expect(Date.parse(data.ended_at) - Date.parse(data.started_at)).toBeGreaterThanOrEqual(6_000);
    expect(data.summary).toEqual(expect.any(String));
    const kinds = events.events.flatMap((e) =>
      e.event === 'message.created' ? [e.data.message.metadata?.kind] : [],
    );
    expect(kinds).toEqual(['opening', 'wrap_up']);
    expect((await rt.http('GET', `/api/v1/sessions/${id}`)).body.status).toBe('completed');
    await events.stop();
  });

  it('starts a session booked ahead by itself at its time, never before it', async () => {
    const service = new SessionService(
      rt.api.connections.temporal.client,
      rt.api.connections.store.db,
      rt.config,
      new PersonaRegistry(loadPersonaDefinitions()),
    );
    // Far enough ahead for the coarse timer, which wakes the workflow early, then the precise one.
    const scheduledAt = new Date(Date.now() + 12_000).toISOString();
    const id = newId('session');
    const events = await collectEvents(rt.bus, id);
    await service.startWorkflow({
      session_id: id,
      client_id: await rt.clientId('booked'),
      persona_id: 'dr_jordan_lee',
      goals: ['Sleep better'],
      duration_minutes: 30,
      scheduled_at: scheduledAt,
      created_at: new Date().toISOString(),
      created_by: 'test',
      metadata: {},
    });
    const started = await events.next((e) => e.event === 'session.started', 'started', 40_000);
    const startedAt = Date.parse((started.data as { started_at: string }).started_at);
    expect(startedAt).toBeGreaterThanOrEqual(Date.parse(scheduledAt));
    const opening = await events.next((e) => e.event === 'message.created', 'opening', 30_000);
    expect(opening.event === 'message.created' && opening.data.message.sender_type).toBe('persona');
    await events.stop();
  });

  it('creates sessions from a series on schedule, and creates none while it is paused', async () => {
    const created = await rt.http('POST', '/api/v1/session-series', {
      client_id: await rt.clientId('series'),
      persona_id: 'dr_morgan_hayes',
      goals: ['Weekly check-in'],
      duration_minutes: 30,
      recurrence: { interval_seconds: 2, timezone: 'Europe/London' },
      metadata: { programme: 'pilot' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      series_id: expect.stringMatching(/^sr_/),
      status: 'active',
      recurrence: { interval_seconds: 2, timezone: 'Europe/London' },
    });
    expect(created.body.next_occurrences.length).toBeGreaterThan(0);
    const seriesId = created.body.series_id as string;
    const db = rt.api.connections.store.db;
    const seriesSessions = () =>
      db
        .collection('sessions')
        .find({ series_id: seriesId }, { projection: { _id: 0 } })
        .toArray();

    const first = await waitFor(
      'two sessions from the series',
      async () => {
        const found = await seriesSessions();
        return found.length >= 2 ? found : undefined;
      },
      20_000,
    );
    expect(first[0]).toMatchObject({
      client_id: await rt.clientId('series'),
      persona_id: 'dr_morgan_hayes',
      goals: ['Weekly check-in'],
      metadata: { programme: 'pilot', series_id: seriesId },
    });
    // Each occurrence is an ordinary session that starts at its time.
    await waitFor(
      'an occurrence to be active',
      async () => (await seriesSessions()).some((s) => s.status === 'active'),
      20_000,
    );

    const paused = await rt.http('POST', `/api/v1/session-series/${seriesId}/pause`);
    expect(paused.body.status).toBe('paused');
    const countAtPause = (await seriesSessions()).length;
    // Over three intervals nothing new may appear (one already in flight at the pause may still land).
    const deadline = Date.now() + 6_000;
    await waitFor('three intervals to pass', () => Date.now() >= deadline, 10_000);
    expect((await seriesSessions()).length).toBeLessThanOrEqual(countAtPause + 1);

    const listed = await rt.http(
      'GET',
      `/api/v1/session-series?client_id=${await rt.clientId('series')}`,
    );
    expect(listed.body.series.map((s: { series_id: string }) => s.series_id)).toEqual([seriesId]);
    const resumed = await rt.http('POST', `/api/v1/session-series/${seriesId}/resume`);
    expect(resumed.body.status).toBe('active');
    expect((await rt.http('DELETE', `/api/v1/session-series/${seriesId}`)).status).toBe(204);
    expect((await rt.http('GET', `/api/v1/session-series/${seriesId}`)).status).toBe(404);
  });

  it('rejects a series without exactly one recurrence rule, naming the field', async () => {
    const res = await rt.http('POST', '/api/v1/session-series', {
      client_id: await rt.clientId('series'),
      persona_id: 'dr_morgan_hayes',
      recurrence: { cron: '0 18 * * MON', interval_seconds: 60 },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toMatchObject({
      field: 'recurrence',
      reason: 'give exactly one of cron, calendar or interval_seconds',
    });
    const tz = await rt.http('POST', '/api/v1/session-series', {
      client_id: await rt.clientId('series'),
      persona_id: 'dr_morgan_hayes',
      recurrence: { cron: '0 18 * * MON', timezone: 'Mars/Olympus' },
    });
    expect(tz.status).toBe(422);
    expect(tz.body.error.details).toMatchObject({ field: 'recurrence.timezone' });
  });
});
