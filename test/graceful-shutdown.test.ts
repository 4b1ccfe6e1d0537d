/**
 * SIGTERM to an API process in the middle of a conversation, as an orchestrator sends it when
 * scaling down: the requests it already accepted are answered and kept, its WebSocket clients
 * are told 1001 (going away), and a client that reconnects to another instance with `since`
 * receives every message it missed — nothing accepted is lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { collectEvents, httpClient, startRuntime, type Runtime } from './helpers/runtime';
import { encryptionEnv, TEST_JWT_SECRET, waitFor } from './helpers/stack';
import { TestSocket } from './helpers/ws';

const ROOT = path.resolve(__dirname, '..');

/** The API as its own process (as deployed), on a free port; resolves with its URL. */
async function spawnApi(
  rt: Runtime,
  output: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ proc: ChildProcess; url: string }> {
  const c = rt.config;
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api/server.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      SMARTSTEPS_SERVER__PORT: '0',
      SMARTSTEPS_SERVER__HOST: '127.0.0.1',
      SMARTSTEPS_TEMPORAL__ADDRESS: c.temporal.address,
      SMARTSTEPS_TEMPORAL__TASK_QUEUES__SESSIONS: c.temporal.task_queues.sessions,
      SMARTSTEPS_TEMPORAL__TASK_QUEUES__PERSONAS: c.temporal.task_queues.personas,
      SMARTSTEPS_NATS__SERVERS: c.nats.servers.join(','),
      SMARTSTEPS_STORAGE__CONNECTION__URI: c.storage.connection.uri,
      SMARTSTEPS_STORAGE__CONNECTION__DATABASE: c.storage.connection.database,
      SMARTSTEPS_AUTH__JWT_SECRET: TEST_JWT_SECRET,
      SMARTSTEPS_SECURITY__RATE_LIMITING__ENABLED: 'false',
      // Metrics listeners off: other test processes may hold the default ports.
      SMARTSTEPS_METRICS__PORTS__API: '0',
      SMARTSTEPS_LOGGING__LEVEL: 'info',
      ...encryptionEnv(),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d: Buffer) => output.push(...d.toString().split('\n')));
  proc.stderr.on('data', (d: Buffer) => output.push(...d.toString().split('\n')));
  const url = await waitFor(
    'the API process to listen',
    () => {
      if (proc.exitCode !== null) throw new Error(`api exited early:\n${output.join('\n')}`);
      for (const line of output) {
        if (!line.includes('api listening')) continue;
        return (JSON.parse(line) as { url: string }).url;
      }
      return undefined;
    },
    60_000,
  );
  return { proc, url };
}

describe('graceful shutdown of an API process', () => {
  let rt: Runtime;
  let child: ChildProcess | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await rt?.stop();
  });

  it('answers what it accepted, sends 1001, and the client resumes elsewhere without a gap', async () => {
    const spawned = await spawnApi(rt, output);
    child = spawned.proc;
    const exited = new Promise<number | null>((resolve) => spawned.proc.once('exit', resolve));
    const doomed = httpClient(spawned.url, rt.admin.token);

    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('shutdown'),
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
    });
    const id = created.body.session_id as string;
    const events = await collectEvents(rt.bus, id);
    await rt.http('POST', `/api/v1/sessions/${id}/start`);

    const socket = await TestSocket.open(spawned.url, { token: rt.admin.token });
    await socket.request('join_session', { session_id: id, since: 0 });
    await socket.next((f) => f.type === 'new_message', 'the greeting on the doomed socket');

    // A conversation in full flow through the doomed instance; SIGTERM while it is in flight.
    const lines = ['I could not sleep again.', 'Work keeps me up.', 'I tried reading.'];
    const inFlight = lines.map((content) =>
      doomed('POST', `/api/v1/sessions/${id}/messages`, { content, sender_type: 'client' }),
    );
    await waitFor('the first message to be accepted', () =>
      events.events.some(
        (e) => e.event === 'message.created' && e.data.message.content === lines[0],
      ),
    );
    spawned.proc.kill('SIGTERM');

    // Everything it had accepted is answered, not dropped.
    const answers = await Promise.all(inFlight);
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await exited).toBe(0);

    // The client reconnects to another instance, resuming after the last event it saw.
    const lastSeq = Math.max(0, ...socket.frames.map((f) => (f.data?.seq as number) ?? 0));
    const again = await TestSocket.open(rt.api.url, { token: rt.admin.token });
    await again.request('join_session', { session_id: id, since: lastSeq });

    // Every reply arrives; between the two sockets the client has seen every message once.
    const sentIds = answers.map((r) => r.body.id as string);
    await waitFor(
      'a reply to the last message',
      () =>
        events.events.some(
          (e) =>
            e.event === 'message.created' &&
            e.data.message.sender_type === 'persona' &&
            ((e.data.message.metadata?.in_reply_to as string[] | undefined) ?? []).includes(
              sentIds[2]!,
            ),
        ),
      30_000,
    );
    const stored = await rt.http('GET', `/api/v1/sessions/${id}`);
    const storedIds = stored.body.messages.map((m: { id: string }) => m.id) as string[];
    for (const sent of sentIds) expect(storedIds).toContain(sent);
    await waitFor('the resumed socket to catch up', () => {
      const seen = new Set(
        [...socket.messages(), ...again.messages()].map((f) => f.data.message.id as string),
      );
      return storedIds.every((m) => seen.has(m)) ? true : undefined;
    });
    const resumed = again.messages().map((f) => f.data.message.id as string);
    const before = socket.messages().map((f) => f.data.message.id as string);
    expect(resumed.filter((m) => before.includes(m))).toEqual([]);
    await events.stop();
    await again.close();
  });
});
