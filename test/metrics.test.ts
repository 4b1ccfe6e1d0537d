import { start as startDispatcher, type RunningDispatcher } from '../workers/webhook-dispatcher';
import { freePorts } from '../scripts/stack/ports';
import { startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger, waitFor } from './helpers/stack';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { quickWebhookConfig, startReceiver, type Receiver } from './helpers/webhook-receiver';
import { TestSocket } from './helpers/ws';
import { parsePrometheus, scrape, valueOf, type Sample } from './helpers/prometheus';

/** A counter's or histogram count's value, 0 while the series does not exist yet. */
const count = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  valueOf(samples, name, labels) ?? 0;

describe('Prometheus metrics of the API and the Temporal workers', () => {
  let rt: Runtime;
  const urls = { api: '', sessions: '', personas: '' };

  beforeAll(async () => {
    const [api, sessions, personas] = await freePorts(3);
    rt = await startRuntime({
      'metrics.ports.api': api,
      'metrics.ports.sessions': sessions,
      'metrics.ports.personas': personas,
      // Counted on every scrape, so the test sees a session's status change at once.
      'metrics.sessions_refresh_seconds': 0,
    });
    urls.api = rt.api.metricsUrl!;
    urls.sessions = rt.workers[0]!.metricsUrl!;
    urls.personas = rt.workers[1]!.metricsUrl!;
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('serves each process its own /metrics, parseable Prometheus text, on its own port', async () => {
    expect(urls).toEqual({
      api: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/),
      sessions: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/),
      personas: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/),
    });
    const [api, sessions, personas] = await Promise.all(
      [urls.api, urls.sessions, urls.personas].map(scrape),
    );
    for (const samples of [api!, sessions!, personas!]) {
      expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(valueOf(samples, 'smartsteps_nats_errors_total', { kind: 'publish' })).toBe(0);
    }
    expect(valueOf(api!, 'smartsteps_websocket_connections')).toBe(0);
    expect(valueOf(personas!, 'smartsteps_persona_fallbacks_total')).toBeUndefined();
    // Not on the API's own port: metrics are for operators, not for whoever can reach the API.
    expect((await fetch(`${rt.api.url}/metrics`)).status).toBe(404);
  });

  it("passes on the Temporal SDK's own worker metrics with each worker's", async () => {
    for (const url of [urls.sessions, urls.personas]) {
      const samples = await scrape(url);
      const names = new Set(samples.map((s) => s.name));
      expect([...names].filter((n) => n.startsWith('temporal_')).length).toBeGreaterThan(3);
      expect(valueOf(samples, 'temporal_num_pollers')).toBeGreaterThan(0);
      expect(valueOf(samples, 'smartsteps_nats_errors_total')).toBe(0);
    }
    // The SDK counts the task queues of this test's workers.
    const sessions = await scrape(urls.sessions);
    expect(
      sessions.some((s) => s.labels.task_queue === rt.config.temporal.task_queues.sessions),
    ).toBe(true);
  });

  it('times HTTP requests by method, route template and status, never by raw path', async () => {
    const before = await scrape(urls.api);
    const route = { method: 'GET', route: '/api/v1/sessions/{id}', status: '404' };
    const missing = await rt.http('GET', '/api/v1/sessions/s_notthere12345');
    expect(missing.status).toBe(404);
    await fetch(`${rt.api.url}/no/such/path/c_secretish`);
    // Refused before routing (the body is too large), and still labelled with its route.
    const big = await rt.http('POST', '/api/v1/sessions', { pad: 'x'.repeat(300 * 1024) });
    expect(big.status).toBe(413);

    const after = await scrape(urls.api);
    const name = 'smartsteps_http_request_duration_seconds_count';
    expect(count(after, name, route) - count(before, name, route)).toBe(1);
    expect(
      count(after, name, { method: 'GET', route: 'unmatched', status: '404' }) -
        count(before, name, { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBe(1);
    expect(count(after, name, { method: 'POST', route: '/api/v1/sessions', status: '413' })).toBe(
      1,
    );
    expect(
      valueOf(after, 'smartsteps_http_request_duration_seconds_bucket', { ...route, le: '+Inf' }),
    ).toBe(count(after, name, route));
    const labelValues = after.flatMap((s) => Object.values(s.labels)).join(' ');
    expect(labelValues).not.toMatch(/s_notthere12345|c_secretish/);
  });

  it('counts open WebSocket connections up with a socket and down when it closes', async () => {
    const open = async () =>
      valueOf(await scrape(urls.api), 'smartsteps_websocket_connections') ?? -1;
    expect(await open()).toBe(0);
    const socket = await TestSocket.open(rt.api.url, { token: rt.admin.token });
    await waitFor('the gauge at 1', async () => (await open()) === 1);
    await socket.close();
    await waitFor('the gauge back at 0', async () => (await open()) === 0);
  });

  it('counts sessions by status and times the turnaround of a client message', async () => {
    const sessions = async (status: string) =>
      valueOf(await scrape(urls.api), 'smartsteps_sessions', { status });
    const turnarounds = async () =>
      count(await scrape(urls.personas), 'smartsteps_message_turnaround_seconds_count', {
        engine: 'local',
      });
    expect(await sessions('scheduled')).toBe(0);
    const before = await turnarounds();

    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.newClient(),
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    expect(await sessions('scheduled')).toBe(1);
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    expect(await sessions('active')).toBe(1);
    expect(await sessions('scheduled')).toBe(0);

    const sent = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Work has been hard this week.',
      sender_type: 'client',
    });
    expect(sent.status).toBe(201);
    await waitFor('the persona reply', async () => {
      const res = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
      return (res.body.messages as Array<{ metadata?: { in_reply_to?: string[] } }>).some((m) =>
        m.metadata?.in_reply_to?.includes(sent.body.id as string),
      );
    });
    await waitFor('the turnaround observed', async () => (await turnarounds()) > before);
    const samples = await scrape(urls.personas);
    expect(
      valueOf(samples, 'smartsteps_message_turnaround_seconds_sum', { engine: 'local' }),
    ).toBeGreaterThan(0);
  });

  it('counts failed Temporal calls by RPC and status, but not answers like "not found"', async () => {
    const name = 'smartsteps_temporal_client_errors_total';
    const { workflowService } = rt.api.connections.temporal.connection;
    const namespace = rt.config.temporal.namespace;
    // A workflow that does not exist is an answer the API maps to 404/409, not a failure.
    await expect(
      workflowService.describeWorkflowExecution({
        namespace,
        execution: { workflowId: 'session-s_neverexisted' },
      }),
    ).rejects.toMatchObject({ code: 5 });
    // A start without a workflow id or type is refused by the server: a failed call.
    await expect(workflowService.startWorkflowExecution({ namespace })).rejects.toMatchObject({
      code: 3,
    });
    const samples = await scrape(urls.api);
    expect(valueOf(samples, name, { method: 'DescribeWorkflowExecution' })).toBeUndefined();
    expect(
      valueOf(samples, name, { method: 'StartWorkflowExecution', code: 'INVALID_ARGUMENT' }),
    ).toBe(1);
  });
});

describe('webhook dispatcher metrics', () => {
  let nats: OwnNats;
  let rt: Runtime;
  let dispatcher: RunningDispatcher;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    // Its own NATS: the counts must be of this test's deliveries only.
    nats = await startOwnNats('nats-webhook-metrics');
    const [port] = await freePorts(1);
    rt = await startRuntime(
      { ...quickWebhookConfig(nats.url), 'metrics.ports.webhooks': port },
      { sessionWorker: false, personaWorker: false },
    );
    dispatcher = await startDispatcher(rt.config, quietLogger);
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await rt?.bus.jsm.consumers.delete(rt.bus.stream, rt.config.webhooks.consumer).catch(() => 0);
    await rt?.stop();
    await nats?.stop();
  });

  it('counts deliveries and failed attempts, and times them', async () => {
    const secret = 'receiver-secret-0123456789';
    let failuresLeft = 2;
    const receiver = await startReceiver(secret, () => (failuresLeft-- > 0 ? 500 : 200));
    receivers.push(receiver);
    const registered = await rt.http('POST', '/api/v1/webhooks', {
      url: receiver.url(),
      events: ['client.created'],
      secret,
    });
    expect(registered.status).toBe(201);
    const url = dispatcher.metricsUrl!;
    const outcome = async (o: string) =>
      valueOf(await scrape(url), 'smartsteps_webhook_deliveries_total', { outcome: o });
    expect(await outcome('delivered')).toBe(0);

    await rt.newClient();
    await waitFor('the delivery', () => receiver.accepted().length === 1, 20_000);
    await waitFor('the delivery counted', async () => (await outcome('delivered')) === 1);
    const samples = await scrape(url);
    expect(valueOf(samples, 'smartsteps_webhook_deliveries_total', { outcome: 'failed' })).toBe(2);
    expect(valueOf(samples, 'smartsteps_webhook_deliveries_total', { outcome: 'abandoned' })).toBe(
      0,
    );
    expect(
      valueOf(samples, 'smartsteps_webhook_delivery_duration_seconds_count', {
        outcome: 'delivered',
      }),
    ).toBe(1);
    expect(valueOf(samples, 'smartsteps_nats_errors_total', { kind: 'disconnect' })).toBe(0);
  });
});

describe('the Prometheus text reader used here', () => {
  it('rejects what a scraper would reject', () => {
    expect(() => parsePrometheus('a_metric{x="1"} 1\na_metric{x="1"} 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheus('a_metric{x=1} 1\n')).toThrow(/bad labels/);
    expect(() => parsePrometheus('a_metric one\n')).toThrow(/bad value/);
    expect(() => parsePrometheus('a 1\nb 1\na{y="2"} 1\n')).toThrow(/one group/);
    expect(
      parsePrometheus(
        '# HELP h help\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1.5\nh_count 2\n',
      ),
    ).toHaveLength(3);
  });
});
