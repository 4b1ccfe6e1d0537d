/**
 * What Temporal keeps of a session: a conversation run through the API and the workers leaves
 * no message, reply or note readable in the workflow history — read with a Temporal client that
 * has no codec, as anyone with access to the server would — while the deployment's own keys
 * still open it, through the codec and through the codec endpoint the Temporal CLI and Web UI use.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { workflowIdFor } from '../api/sessions/service';
import { isEncryptedPayload } from '../lib/crypto/payload-codec';
import { addKeyVersion } from '../lib/crypto/keyring';
import type { LifecycleEvent } from '../lib/schemas/events';
import { harnessState } from './helpers/harness-state';
import { collectEvents, startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', 'bin', 'smart-steps.js');

/** Every Payload message anywhere in a history (event attributes, nested payload lists, maps). */
function payloadsIn(node: unknown, found: Payload[] = []): Payload[] {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return found;
  const candidate = node as Payload;
  if (candidate.data instanceof Uint8Array && candidate.metadata) found.push(candidate);
  else for (const value of Object.values(node)) payloadsIn(value, found);
  return found;
}

/** The CLI prints history as proto JSON: payload data in base64; all of it, as text. */
function cliPayloadText(stdout: string): string {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const p = node as { metadata?: unknown; data?: unknown };
    if (p.metadata && typeof p.data === 'string') {
      texts.push(Buffer.from(p.data, 'base64').toString('utf8'));
      // An encrypted payload shows only its encoding and key id.
      return;
    }
    Object.values(node).forEach(walk);
  };
  walk(JSON.parse(stdout));
  expect(texts.length).toBeGreaterThan(5);
  return [stdout, ...texts].join('\n');
}

describe('Temporal histories of sessions', () => {
  let rt: Runtime;
  let plainConnection: Connection;
  let plainClient: Client;
  // Words that occur nowhere but in this test's conversation.
  const secret = `Quillfeather-${randomBytes(4).toString('hex')}`;
  const noteSecret = `Marrowdale-${randomBytes(4).toString('hex')}`;
  let sessionId: string;
  let reply: string;

  beforeAll(async () => {
    rt = await startRuntime();
    // Without the codec: what the Temporal server itself holds.
    plainConnection = await Connection.connect({ address: rt.config.temporal.address });
    plainClient = new Client({
      connection: plainConnection,
      namespace: rt.config.temporal.namespace,
    });

    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('encrypted'),
      persona_id: 'dr_morgan_hayes',
      goals: ['Sleep better'],
    });
    expect(created.status).toBe(201);
    sessionId = created.body.session_id as string;
    const events = await collectEvents(rt.bus, sessionId);
    const fromPersona = (e: LifecycleEvent) =>
      e.event === 'message.created' && e.data.message.sender_type === 'persona';
    expect((await rt.http('POST', `/api/v1/sessions/${sessionId}/start`)).status).toBe(200);
    await events.next(fromPersona, 'the opening message');
    const sent = await rt.http('POST', `/api/v1/sessions/${sessionId}/messages`, {
      content: `I lie awake thinking about ${secret} and the work I have not finished.`,
    });
    expect(sent.status).toBe(201);
    const answer = await events.next(
      (e) =>
        fromPersona(e) &&
        e.event === 'message.created' &&
        (e.data.message.metadata?.in_reply_to as string[] | undefined)?.[0] === sent.body.id,
      'the reply',
    );
    reply = answer.event === 'message.created' ? answer.data.message.content : '';
    const note = await rt.http('POST', `/api/v1/sessions/${sessionId}/notes`, {
      content: `Mentioned ${noteSecret} twice.`,
    });
    expect(note.status).toBe(201);
    expect((await rt.http('POST', `/api/v1/sessions/${sessionId}/end`)).status).toBe(200);
    await events.next((e) => e.event === 'session.ended', 'session.ended');
    await events.stop();
  });

  afterAll(async () => {
    await plainConnection?.close();
    await rt?.stop();
  });

  const rawHistory = async () => {
    const history = await plainClient.workflow.getHandle(workflowIdFor(sessionId)).fetchHistory();
    return {
      history,
      bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()),
    };
  };

  it('holds no message, reply or note in the clear', async () => {
    const { history, bytes } = await rawHistory();
    expect(history.events?.length).toBeGreaterThan(10);
    expect(bytes.includes(secret)).toBe(false);
    expect(bytes.includes(noteSecret)).toBe(false);
    expect(reply.length).toBeGreaterThan(20);
    expect(bytes.includes(reply)).toBe(false);
    // Nor in any other form a reader might try.
    expect(bytes.includes(Buffer.from(secret).toString('base64'))).toBe(false);
    expect(JSON.stringify(history)).not.toContain(secret);
  });

  it('holds the conversation encrypted, readable with the deployment’s codec', async () => {
    const { history } = await rawHistory();
    const encrypted = payloadsIn(history.events).filter(isEncryptedPayload);
    expect(encrypted.length).toBeGreaterThan(5);
    const opened = await rt.api.connections.temporal.codec.decode(encrypted);
    const text = opened.map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('\n');
    expect(text).toContain(secret);
    expect(text).toContain(noteSecret);
    expect(text).toContain(reply.slice(0, 40));
  });

  it('is readable with `temporal workflow show` through the codec endpoint, and only so', async () => {
    const bin = harnessState().bins.temporal;
    const show = (...extra: string[]) =>
      run(
        bin,
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowIdFor(sessionId),
          '--address',
          rt.config.temporal.address,
          '--namespace',
          rt.config.temporal.namespace,
          '--output',
          'json',
          ...extra,
        ],
        { maxBuffer: 32 * 1024 * 1024 },
      );
    const without = cliPayloadText((await show()).stdout);
    expect(without).not.toContain(secret);

    const decoded = cliPayloadText(
      (
        await show(
          '--codec-endpoint',
          `${rt.api.url}/codec`,
          '--codec-auth',
          `Bearer ${rt.admin.token}`,
        )
      ).stdout,
    );
    expect(decoded).toContain(secret);
    expect(decoded).toContain(noteSecret);
  });
});

describe('retiring a key version', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ss-payload-keys-'));
  const keyFile = path.join(dir, 'encryption-keys.json');
  let rt: Runtime;

  beforeAll(async () => {
    addKeyVersion(keyFile);
    rt = await startRuntime({
      'security.encryption.key_file': keyFile,
      'security.encryption.keys': {},
    });
  });
  afterAll(async () => {
    await rt?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI as an operator runs it against this test's servers and key file. */
  const keys = (...args: string[]) =>
    run(process.execPath, [BIN, 'keys', ...args], {
      env: {
        ...process.env,
        SMARTSTEPS_STORAGE__CONNECTION__URI: rt.config.storage.connection.uri,
        SMARTSTEPS_STORAGE__CONNECTION__DATABASE: rt.config.storage.connection.database,
        SMARTSTEPS_TEMPORAL__ADDRESS: rt.config.temporal.address,
        SMARTSTEPS_TEMPORAL__TASK_QUEUES__SESSIONS: rt.config.temporal.task_queues.sessions,
        SMARTSTEPS_SECURITY__ENCRYPTION__KEY_FILE: keyFile,
        SMARTSTEPS_SECURITY__ENCRYPTION__INDEX_KEY: rt.config.security.encryption.index_key,
        SMARTSTEPS_SECURITY__ENCRYPTION__KEY_MANAGEMENT__MINIMUM_KEY_VERSIONS: '1',
      },
    }).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        out: err.stdout + err.stderr,
      }),
    );

  it('is refused while a running session’s history was written under it, allowed once it has finished', async () => {
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: await rt.clientId('rotating'),
      persona_id: 'sam_taylor',
    });
    const id = created.body.session_id as string;
    const events = await collectEvents(rt.bus, id);
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    await events.next((e) => e.event === 'message.created', 'the opening message');

    const { id: next } = addKeyVersion(keyFile);
    expect(next).toBe('k2');
    // Nothing in MongoDB is left under k1: only Temporal still needs it.
    expect((await keys('rotate')).code).toBe(0);
    const refused = await keys('retire', '--id', 'k1');
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/1 running session workflow\(s\) in Temporal started while 'k1'/);

    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(200);
    await events.next((e) => e.event === 'session.ended', 'session.ended');
    await events.stop();
    // Visibility follows the workflow's close shortly after.
    const client = rt.api.connections.temporal.client;
    await waitFor('the session workflow to be listed as closed', async () => {
      const { count } = await client.workflow.count(
        `ExecutionStatus = "Running" AND TaskQueue = "${rt.config.temporal.task_queues.sessions}"`,
      );
      return count === 0;
    });
    const retired = await keys('retire', '--id', 'k1');
    expect(retired).toMatchObject({ code: 0, out: expect.stringContaining('retired key k1') });
  });
});
