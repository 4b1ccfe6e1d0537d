import * as path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { startServices, type RunningServices } from '../scripts/stack/services';
import { freePorts } from '../scripts/stack/ports';
import { harnessState } from './helpers/harness-state';
import { collectEvents, startRuntime, type Runtime } from './helpers/runtime';

describe('scheduled sessions across a Temporal server restart', () => {
  // A Temporal server of this test's own (persisted in SQLite), so restarting it harms no other test.
  let temporal: RunningServices;
  let rt: Runtime;
  let ports: { temporal: number; http: number; metrics: number };
  let dataDir: string;

  const startTemporal = () =>
    startServices({
      bins: harnessState().bins,
      dataDir,
      only: ['temporal'],
      logToFiles: true,
      ports: {
        temporal: ports.temporal,
        temporalHttp: ports.http,
        temporalUi: 0,
        temporalMetrics: ports.metrics,
        nats: 0,
        natsMonitor: 0,
        mongo: 0,
      },
    });

  beforeAll(async () => {
    const [t, h, m] = await freePorts(3);
    ports = { temporal: t!, http: h!, metrics: m! };
    dataDir = mkdtempSync(path.join(harnessState().dir, 'temporal-restart-'));
    temporal = await startTemporal();
    rt = await startRuntime({ 'temporal.address': temporal.temporalAddress });
  });
  afterAll(async () => {
    await rt?.stop();
    await temporal?.stop();
  });

  it('starts a session at its time even though the server was down while it waited', async () => {
    const scheduledAt = new Date(Date.now() + 6_000).toISOString();
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('restart'),
      persona_id: 'sam_taylor',
      scheduled_at: scheduledAt,
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    const events = await collectEvents(rt.bus, id);

    await temporal.stop();
    // The old process's ports can take a moment to be released after it exits.
    temporal = await startTemporal().catch(() => startTemporal());

    const started = await events.next(
      (e) => e.event === 'session.started',
      'session.started after the restart',
      30_000,
    );
    expect(Date.parse((started.data as { started_at: string }).started_at)).toBeGreaterThanOrEqual(
      Date.parse(scheduledAt),
    );
    await events.next(
      (e) => e.event === 'message.created' && e.data.message.sender_type === 'persona',
      'the opening message',
      30_000,
    );
    await events.stop();
  });
});
