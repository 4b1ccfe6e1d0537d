import { SPEC } from './fixtures/spec-examples';
import { startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

/**
 * Every field of the spec's example response is present with the same JSON type (arrays: each
 * element against the example's first element). Extra fields are allowed.
 */
function missingFromSpec(actual: unknown, example: unknown, at = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(actual) !== kind(example)) return [`${at}: ${kind(actual)}, spec has ${kind(example)}`];
  if (Array.isArray(example) && Array.isArray(actual)) {
    if (example.length === 0) return [];
    return actual.flatMap((item, i) => missingFromSpec(item, example[0], `${at}[${i}]`));
  }
  if (kind(example) === 'object') {
    const a = actual as Record<string, unknown>;
    return Object.entries(example as Record<string, unknown>).flatMap(([k, v]) =>
      k in a ? missingFromSpec(a[k], v, `${at}.${k}`) : [`${at}.${k}: missing`],
    );
  }
  return [];
}

/** A session list against the spec's: each session against the spec's one of the same status. */
function listedAsInSpec(actual: { sessions: { status: string }[]; pagination: unknown }): string[] {
  const { sessions, pagination } = SPEC.listSessions.response;
  return [
    ...missingFromSpec(actual.pagination, pagination, '$.pagination'),
    ...actual.sessions.flatMap((s, i) => {
      const example = sessions.find((e) => e.status === s.status);
      return example
        ? missingFromSpec(s, example, `$.sessions[${i}]`)
        : [`$.sessions[${i}]: status ${s.status} has no example in the spec`];
    }),
  ];
}

describe("the spec's examples, sent as written", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('walks the documented flow: login, client, session, messages, analysis, webhooks', async () => {
    // The spec's login example uses an e-mail as the username.
    const user = await rt.signIn('facilitator', 'spec');
    const login = await rt.anonymous('POST', '/api/v1/auth/login', {
      ...SPEC.login.request,
      username: user.email,
      password: user.password,
    });
    expect(login.status).toBe(200);
    expect(missingFromSpec(login.body, SPEC.login.response)).toEqual([]);
    const http = user.http;

    const client = await http('POST', '/api/v1/clients', SPEC.createClient.request);
    expect(client.status).toBe(201);
    expect(missingFromSpec(client.body, SPEC.createClient.response)).toEqual([]);
    expect(client.body.created_by).toBe(user.email);
    const clientId = client.body.client_id as string;

    const clients = await http('GET', '/api/v1/clients?search=Jane&limit=10&page=1');
    expect(missingFromSpec(clients.body, SPEC.listClients.response)).toEqual([]);

    // The example's ids name records of the spec's world, and its date is now in the past:
    // the same body with this world's client and a date to come.
    const session = await http('POST', '/api/v1/sessions', {
      ...SPEC.createSession.request,
      client_id: clientId,
      scheduled_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(session.status).toBe(201);
    expect(missingFromSpec(session.body, SPEC.createSession.response)).toEqual([]);
    expect(session.body).toMatchObject({ status: 'scheduled', created_by: user.email });
    const id = session.body.session_id as string;

    const other = await http('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_alex_rivera',
      scheduled_at: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    });
    expect(other.status).toBe(201);
    const list = await http(
      'GET',
      `/api/v1/sessions?client_id=${clientId}&status=scheduled,completed&limit=10&page=1`,
    );
    expect(listedAsInSpec(list.body)).toEqual([]);

    const started = await http('POST', `/api/v1/sessions/${id}/start`);
    expect(started.status).toBe(200);
    expect(missingFromSpec(started.body, SPEC.startSession.response)).toEqual([]);

    const message = await http('POST', `/api/v1/sessions/${id}/messages`, SPEC.sendMessage.request);
    expect(message.status).toBe(201);
    expect(missingFromSpec(message.body, SPEC.sendMessage.response)).toEqual([]);
    expect(message.body).toMatchObject({ sender_type: 'persona', sender_id: 'dr_morgan_hayes' });
    await http('POST', `/api/v1/sessions/${id}/messages`, {
      content: "I've been feeling a bit stressed about work and anxious before meetings.",
    });
    const note = await http('POST', `/api/v1/sessions/${id}/notes`, {
      content: 'Client appeared more relaxed than last session.',
    });
    expect(note.status).toBe(201);
    expect(missingFromSpec(note.body, SPEC.getSession.response.facilitator_notes[0])).toEqual([]);
    expect(note.body.author).toBe(user.email);

    const summary = await http('POST', `/api/v1/sessions/${id}/analyze/summary`);
    expect(summary.status).toBe(200);
    expect(missingFromSpec(summary.body, SPEC.summary.response)).toEqual([]);

    const ended = await http('POST', `/api/v1/sessions/${id}/end`);
    expect(ended.status).toBe(200);
    expect(missingFromSpec(ended.body, SPEC.endSession.response)).toEqual([]);

    // The summary and insights follow the end (session.ended announces them).
    const details = await waitFor('the session summary', async () => {
      const res = await http('GET', `/api/v1/sessions/${id}`);
      return res.body.summary ? res : undefined;
    });
    expect(missingFromSpec(details.body, SPEC.getSession.response)).toEqual([]);

    // The spec's own list query, now that one session is completed and the other scheduled.
    const completed = await http(
      'GET',
      `/api/v1/sessions?client_id=${clientId}&status=active,completed&limit=10&page=1`,
    );
    expect(completed.body.sessions).toHaveLength(1);
    expect(listedAsInSpec(completed.body)).toEqual([]);
    const both = await http('GET', `/api/v1/sessions?client_id=${clientId}&limit=10&page=1`);
    expect(both.body.sessions.map((s: { status: string }) => s.status).sort()).toEqual([
      'completed',
      'scheduled',
    ]);
    expect(listedAsInSpec(both.body)).toEqual([]);

    const clientDetails = await http('GET', `/api/v1/clients/${clientId}`);
    expect(missingFromSpec(clientDetails.body, SPEC.getClient.response)).toEqual([]);
    expect(clientDetails.body.session_count).toEqual({ total: 2, completed: 1, scheduled: 1 });

    const progress = await http(
      'POST',
      `/api/v1/clients/${clientId}/analyze/progress`,
      SPEC.progress.request,
    );
    expect(progress.status).toBe(200);
    expect(missingFromSpec(progress.body, SPEC.progress.response)).toEqual([]);
    expect(progress.body.report_period).toEqual({ start: '2025-04-01', end: '2025-05-11' });

    const webhook = await http('POST', '/api/v1/webhooks', SPEC.registerWebhook.request);
    expect(webhook.status).toBe(201);
    expect(missingFromSpec(webhook.body, SPEC.registerWebhook.response)).toEqual([]);
    expect(webhook.body).not.toHaveProperty('secret');
  });

  it('lists and describes personas in the spec’s shape', async () => {
    const list = await rt.http('GET', '/api/v1/personas');
    expect(missingFromSpec(list.body, SPEC.listPersonas.response)).toEqual([]);
    const one = await rt.http('GET', '/api/v1/personas/dr_morgan_hayes');
    expect(missingFromSpec(one.body, SPEC.getPersona.response)).toEqual([]);
  });
});
