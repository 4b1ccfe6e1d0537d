import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventSubject, publishJson } from '../lib/bus';
import { eventId } from '../lib/events';
import { COLLECTIONS, type WebhookTaskDoc } from '../lib/store/collections';
import { startRuntime, type Runtime } from './helpers/runtime';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { unique, waitFor } from './helpers/stack';
import { quickWebhookConfig, startReceiver, type Receiver } from './helpers/webhook-receiver';

const ROOT = path.resolve(__dirname, '..');
const SECRET = 'crash-secret-0123456789abcdef';

/** A dispatcher as its own process, as `smart-steps worker --pool webhooks` runs it. */
async function spawnDispatcher(configFile: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'workers/webhook-dispatcher.ts'), '--config', configFile],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    'the dispatcher process to run',
    () => {
      if (child.exitCode !== null) throw new Error(`dispatcher exited: ${output}`);
      return output.includes('webhook dispatcher running');
    },
    30_000,
  );
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

describe('a dispatcher killed mid-stream', () => {
  let rt: Runtime;
  let receiver: Receiver;
  let dir: string;
  const children: ChildProcess[] = [];

  let nats: OwnNats;

  beforeAll(async () => {
    // Its own NATS server, so only this test's events reach its webhook.
    nats = await startOwnNats('nats-webhook-crash');
    rt = await startRuntime(
      {
        ...quickWebhookConfig(nats.url),
        // A dead process's events and leases are taken over quickly.
        'webhooks.ack_wait_seconds': 2,
        'webhooks.lease_seconds': 3,
      },
      { sessionWorker: false, personaWorker: false },
    );
    dir = mkdtempSync(path.join(os.tmpdir(), 'ss-webhook-crash-'));
    // Slow enough that the kill lands while deliveries are in flight.
    receiver = await startReceiver(SECRET, () => new Promise((r) => setTimeout(() => r(200), 60)));
  });
  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await receiver?.close();
    await rt?.bus.jsm.consumers.delete(rt.bus.stream, rt.config.webhooks.consumer).catch(() => 0);
    await rt?.stop();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing after a restart and never resends what was recorded as delivered', async () => {
    const configFile = path.join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ ...rt.config, logging: { level: 'info' } }), {
      mode: 0o600,
    });
    const created = await rt.http('POST', '/api/v1/webhooks', {
      url: receiver.url(),
      events: ['message.created'],
      secret: SECRET,
    });
    expect(created.status).toBe(201);

    const first = await spawnDispatcher(configFile);
    children.push(first);
    const sessions = [unique('s_x'), unique('s_y'), unique('s_z')];
    const ids: string[] = [];
    for (let n = 0; n < 12; n++) {
      for (const sessionId of sessions) {
        const id = eventId(sessionId, 'message.created', String(n));
        await publishJson(rt.bus, eventSubject('session', sessionId, 'message.created'), id, {
          event_id: id,
          event: 'message.created',
          timestamp: new Date().toISOString(),
          data: { session_id: sessionId, n },
        });
        ids.push(id);
      }
    }

    await waitFor('some deliveries before the kill', () => receiver.accepted().length >= 6);
    first.kill('SIGKILL');
    await exited(first);
    const tasks = rt.api.connections.store.db.collection<WebhookTaskDoc>(
      COLLECTIONS.webhookTasksDone,
    );
    const deliveredAtKill = new Set(
      (await tasks.find({ state: 'delivered' }).toArray()).map((t) => t.event_id),
    );
    const acceptedAtKill = receiver.accepted().length;
    expect(acceptedAtKill).toBeLessThan(ids.length);

    children.push(await spawnDispatcher(configFile));
    await waitFor(
      'every event accepted after the restart',
      () => ids.every((id) => receiver.accepted().some((d) => d.eventId === id)),
      45_000,
    );

    const accepted = receiver.accepted();
    expect(accepted.every((d) => d.verified)).toBe(true);
    const counts = new Map<string, number>();
    for (const d of accepted) counts.set(d.eventId, (counts.get(d.eventId) ?? 0) + 1);
    const repeated = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
    // Only an answer the killed process never got to record may be sent again (at most one per
    // session in flight), and never one it recorded as delivered.
    expect(repeated.filter((id) => deliveredAtKill.has(id))).toEqual([]);
    expect(repeated.length).toBeLessThanOrEqual(sessions.length);
    for (const sessionId of sessions) {
      const order = accepted
        .filter((d) => d.body.data.session_id === sessionId)
        .map((d) => d.body.data.n as number);
      const firsts = order.filter((n, i) => order.indexOf(n) === i);
      expect(firsts).toEqual([...Array(12).keys()]);
    }
  });
});
