/**
 * A create that the session runtime cannot complete in time (here: no session worker at all)
 * is answered 503 in the error envelope, and leaves no session behind to start by itself later.
 */
import { startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

describe('creating a session while no session worker takes the work', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(
      { 'temporal.create_timeout_seconds': 2 },
      { sessionWorker: false, personaWorker: false },
    );
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('answers 503 after temporal.create_timeout_seconds and undoes the start', async () => {
    const clientId = await rt.clientId('nobody-home');
    const res = await rt.http('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      goals: ['Sleep better'],
      duration_minutes: 30,
      scheduled_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: {
        code: 'service_unavailable',
        message: expect.stringMatching(/retry/),
        details: {},
        request_id: expect.stringMatching(/^req_/),
      },
    });

    // The workflow the server started is terminated, so no worker arriving later stores it.
    // (Visibility is updated just after the termination, so a busy machine may show it late.)
    const statuses = async () => {
      const found: string[] = [];
      for await (const wf of rt.api.connections.temporal.client.workflow.list({
        query: `TaskQueue = '${rt.config.temporal.task_queues.sessions}'`,
      }))
        found.push(wf.status.name);
      return found;
    };
    await waitFor('the started workflow to be listed as terminated', async () =>
      (await statuses()).includes('TERMINATED'),
    );
    expect(await statuses()).toEqual(['TERMINATED']);
    const listed = await rt.http('GET', `/api/v1/sessions?client_id=${clientId}`);
    expect(listed.body.sessions).toEqual([]);
  }, 30_000);
});
