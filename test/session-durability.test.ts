import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { connectStore, type Store } from '../lib/mongo';
import { COLLECTIONS, type MessageDoc } from '../lib/store/collections';
import { FieldCrypto } from '../lib/crypto/fields';
import type { LifecycleEvent } from '../lib/schemas/events';
import { start as startSessionWorker } from '../workers/session-worker';
import { workflowIdFor } from '../api/sessions/service';
import { temporalDataConverter } from '../lib/crypto/payload-codec';
import { collectEvents, sessionEvents, startRuntime, type Runtime } from './helpers/runtime';
import { encryptionEnv, quietLogger, testConfig, waitFor, workflowBundle } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');

const repliesTo = (events: LifecycleEvent[]): string[] =>
  events.flatMap((e) =>
    e.event === 'message.created' && e.data.message.sender_type === 'persona'
      ? ((e.data.message.metadata?.in_reply_to as string[] | undefined) ?? [])
      : [],
  );

/** The stored transcript, its content decrypted as the API would show it. */
async function transcript(store: Store, sessionId: string) {
  const fields = FieldCrypto.fromConfig(testConfig());
  const docs = await store.db
    .collection<MessageDoc>(COLLECTIONS.messages)
    .find({ session_id: sessionId })
    .sort({ seq: 1 })
    .toArray();
  return docs.map(({ _id, ...m }) => fields.openMessage({ ...m, id: _id }));
}

/** Checks what a user would: every message once, in order, each client message answered, events 1:1. */
async function expectIntactConversation(
  rt: Runtime,
  store: Store,
  sessionId: string,
  clientMessages: string[],
) {
  const stored = await transcript(store, sessionId);
  expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
  expect(new Set(stored.map((m) => m.id)).size).toBe(stored.length);
  expect(stored.filter((m) => m.sender_type === 'client').map((m) => m.content)).toEqual(
    clientMessages,
  );
  const events = await sessionEvents(rt.bus, sessionId);
  const created = events.filter((e) => e.event === 'message.created');
  expect(created.map((e) => e.event === 'message.created' && e.data.message.id)).toEqual(
    stored.map((m) => m.id),
  );
  expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
  const clientIds = stored.filter((m) => m.sender_type === 'client').map((m) => m.id);
  expect([...repliesTo(events)].sort()).toEqual([...clientIds].sort());
}

describe('session runtime durability', () => {
  describe('continue-as-new', () => {
    let rt: Runtime;
    let store: Store;
    beforeAll(async () => {
      rt = await startRuntime({ 'temporal.continue_as_new_after_events': 40 });
      store = await connectStore(rt.config);
    });
    afterAll(async () => {
      await rt?.stop();
      await store?.close();
    });

    it('keeps every message, in order, across runs forced by a low history threshold', async () => {
      const created = await rt.http('POST', '/api/v1/sessions', {
        client_id: await rt.clientId('long'),
        persona_id: 'dr_morgan_hayes',
        goals: ['Sleep'],
      });
      const id = created.body.session_id as string;
      const events = await collectEvents(rt.bus, id);
      await rt.http('POST', `/api/v1/sessions/${id}/start`);
      const sent: string[] = [];
      for (let i = 1; i <= 12; i++) {
        const content = `Message number ${i}: I slept ${i} hours.`;
        const res = await rt.http('POST', `/api/v1/sessions/${id}/messages`, { content });
        expect(res.status).toBe(201);
        sent.push(content);
        await events.next(
          (e) => repliesTo([e]).includes(res.body.id as string),
          `reply to message ${i}`,
        );
      }
      await rt.http('POST', `/api/v1/sessions/${id}/end`);
      await events.next((e) => e.event === 'session.ended', 'session.ended');
      await events.stop();

      // More than one run: the first one continued as new.
      const runs: string[] = [];
      for await (const wf of rt.api.connections.temporal.client.workflow.list({
        query: `WorkflowId = '${workflowIdFor(id)}'`,
      })) {
        runs.push(wf.runId);
      }
      expect(runs.length).toBeGreaterThan(1);
      await expectIntactConversation(rt, store, id, sent);
      expect((await rt.http('GET', `/api/v1/sessions/${id}`)).body.summary).toEqual(
        expect.any(String),
      );
    });

    it('replays recorded histories with the current workflow code (determinism)', async () => {
      const client = rt.api.connections.temporal.client;
      const histories = client.workflow
        .list({ query: `TaskQueue = '${rt.config.temporal.task_queues.sessions}'` })
        .intoHistories();
      const results = Worker.runReplayHistories(
        {
          workflowBundle: workflowBundle(),
          dataConverter: temporalDataConverter(rt.api.connections.temporal.codec),
        },
        histories,
      );
      let replayed = 0;
      for await (const result of results) {
        expect(result.error).toBeUndefined();
        replayed++;
      }
      expect(replayed).toBeGreaterThan(1);
    });
  });

  describe('worker crashes and scaling', () => {
    let rt: Runtime;
    let store: Store;
    let child: ChildProcess | undefined;

    beforeAll(async () => {
      // The session worker runs as its own process so it can be killed with SIGKILL.
      rt = await startRuntime({}, { sessionWorker: false });
      store = await connectStore(rt.config);
    });
    afterAll(async () => {
      child?.kill('SIGKILL');
      await rt?.stop();
      await store?.close();
    });

    const spawnWorker = (config: Config): ChildProcess => {
      const env = {
        ...process.env,
        SMARTSTEPS_TEMPORAL__ADDRESS: config.temporal.address,
        SMARTSTEPS_TEMPORAL__TASK_QUEUES__SESSIONS: config.temporal.task_queues.sessions,
        SMARTSTEPS_TEMPORAL__TASK_QUEUES__PERSONAS: config.temporal.task_queues.personas,
        SMARTSTEPS_NATS__SERVERS: config.nats.servers.join(','),
        SMARTSTEPS_STORAGE__CONNECTION__URI: config.storage.connection.uri,
        SMARTSTEPS_STORAGE__CONNECTION__DATABASE: config.storage.connection.database,
        SMARTSTEPS_LOGGING__LEVEL: 'info',
        SMARTSTEPS_METRICS__PORTS__SESSIONS: '0',
        ...encryptionEnv(),
      };
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'workers/session-worker.ts')],
        {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      return proc;
    };
    const polling = (proc: ChildProcess) =>
      new Promise<void>((resolve, reject) => {
        let output = '';
        const collect = (d: Buffer) => {
          output += d.toString();
          if (output.includes('sessions worker polling')) resolve();
        };
        proc.stdout!.on('data', collect);
        proc.stderr!.on('data', collect);
        proc.once('exit', (code) =>
          reject(new Error(`worker exited early (${code}):\n${output.slice(-2000)}`)),
        );
      });

    it('loses no accepted message or reply when the worker is killed with SIGKILL mid-conversation', async () => {
      child = spawnWorker(rt.config);
      await polling(child);

      const created = await rt.http('POST', '/api/v1/sessions', {
        client_id: await rt.clientId('crash'),
        persona_id: 'dr_alex_rivera',
        goals: ['Routines'],
      });
      const id = created.body.session_id as string;
      const events = await collectEvents(rt.bus, id);
      await rt.http('POST', `/api/v1/sessions/${id}/start`);
      await events.next((e) => e.event === 'message.created', 'the opening message');

      const first = [
        'I skipped the gym again.',
        'Mornings are the hardest part.',
        'I reward myself with TV.',
      ];
      const inFlight = first.map((content) =>
        rt.http('POST', `/api/v1/sessions/${id}/messages`, { content }),
      );
      // Kill the worker as soon as the conversation is moving: some sends and replies are mid-way.
      await events.next(
        (e) => e.event === 'message.created' && e.data.message.sender_type === 'client',
        'a client message stored',
      );
      child.kill('SIGKILL');

      child = spawnWorker(rt.config);
      await polling(child);
      const responses = await Promise.all(inFlight);
      for (const r of responses) expect(r.status).toBe(201);

      const more = ['After the crash: still here.', 'What should I try tomorrow?'];
      for (const content of more) {
        const r = await rt.http('POST', `/api/v1/sessions/${id}/messages`, { content });
        expect(r.status).toBe(201);
      }
      const all = [...first, ...more];
      await waitFor(
        'every client message to be answered',
        async () => repliesTo(await sessionEvents(rt.bus, id)).length === all.length,
        30_000,
      );
      const ended = await rt.http('POST', `/api/v1/sessions/${id}/end`);
      expect(ended.status).toBe(200);
      await events.next((e) => e.event === 'session.ended', 'session.ended', 30_000);
      await events.stop();

      const stored = await transcript(store, id);
      // Concurrent sends may interleave, but each is stored once, in one order, with its reply.
      expect(
        [...stored.filter((m) => m.sender_type === 'client').map((m) => m.content)].sort(),
      ).toEqual([...all].sort());
      await expectIntactConversation(
        rt,
        store,
        id,
        stored.filter((m) => m.sender_type === 'client').map((m) => m.content),
      );
      child.kill('SIGTERM');
    });

    it('spreads sessions over two workers on one task queue, and stopping one loses nothing', async () => {
      const a = await startSessionWorker(rt.config, quietLogger, {
        workflowBundle: workflowBundle(),
        identity: 'worker-a',
      });
      const b = await startSessionWorker(rt.config, quietLogger, {
        workflowBundle: workflowBundle(),
        identity: 'worker-b',
      });
      try {
        const ids: string[] = [];
        for (let i = 0; i < 8; i++) {
          const res = await rt.http('POST', '/api/v1/sessions', {
            client_id: await rt.clientId(`pool${i}`),
            persona_id: 'sam_taylor',
          });
          ids.push(res.body.session_id as string);
          expect(
            (await rt.http('POST', `/api/v1/sessions/${res.body.session_id}/start`)).status,
          ).toBe(200);
        }
        const identities = new Set<string>();
        for (const id of ids) {
          const history = await rt.api.connections.temporal.client.workflow
            .getHandle(workflowIdFor(id))
            .fetchHistory();
          for (const e of history.events ?? []) {
            const who = e.workflowTaskStartedEventAttributes?.identity;
            if (who) identities.add(who);
          }
        }
        expect([...identities].sort()).toEqual(['worker-a', 'worker-b']);

        await a.stop();
        for (const id of ids) {
          const res = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
            content: 'Still there?',
          });
          expect(res.status).toBe(201);
        }
        for (const id of ids) {
          await waitFor(
            'the reply',
            async () => repliesTo(await sessionEvents(rt.bus, id)).length === 1,
            30_000,
          );
          const stored = await transcript(store, id);
          expect(stored.map((m) => m.sender_type)).toEqual(['persona', 'client', 'persona']);
        }
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  });
});
