import type { Client } from '@temporalio/client';
import { connectTemporal, type TemporalHandle } from '../lib/temporal';
import { start as startWorker, type RunningWorker } from '../workers/session-worker';
import { diagnosticsWorkflow } from '../workflows/diagnostics';
import { testConfig, quietLogger, unique, workflowBundle } from './helpers/stack';

describe('session worker on a real Temporal server', () => {
  const config = testConfig({ 'temporal.task_queues.sessions': unique('sessions') });
  let worker: RunningWorker;
  let temporal: TemporalHandle;
  let client: Client;

  beforeAll(async () => {
    worker = await startWorker(config, quietLogger, {
      workflowBundle: workflowBundle(),
      identity: 'test-worker-1',
    });
    // With the workers' payload codec: results come back encrypted.
    temporal = await connectTemporal(config);
    client = temporal.client;
  });

  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
  });

  it('runs a workflow whose activity reaches MongoDB and NATS and answers the caller', async () => {
    const token = unique('probe');
    const result = await client.workflow.execute(diagnosticsWorkflow, {
      taskQueue: config.temporal.task_queues.sessions,
      workflowId: unique('diagnostics'),
      args: [{ token }],
    });
    expect(result).toEqual({
      token,
      worker_identity: 'test-worker-1',
      mongo: 'ok',
      nats: 'ok',
      workflow_id: expect.stringMatching(/^diagnostics-/) as unknown,
    });
  });

  it('records the run in Temporal history, where operators inspect it', async () => {
    const workflowId = unique('diagnostics');
    await client.workflow.execute(diagnosticsWorkflow, {
      taskQueue: config.temporal.task_queues.sessions,
      workflowId,
      args: [{ token: 'history' }],
    });
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
    expect(
      scheduled.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name),
    ).toEqual(['probeDependencies']);
  });
});
