/**
 * Field-level encryption as an attacker with a copy of the database would meet it: the raw
 * MongoDB documents of every collection hold none of a client's personal data, what they said,
 * the facilitator's notes or the analysis — while the API reads them back, search still finds
 * the client, and a key rotation re-encrypts everything under the new key without a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { Db } from 'mongodb';
import { collectEvents, startRuntime, type Runtime } from './helpers/runtime';
import { quietLogger, waitFor } from './helpers/stack';
import { quickWebhookConfig, startReceiver, type Receiver } from './helpers/webhook-receiver';
import { startOwnNats, type OwnNats } from './helpers/own-nats';
import { start as startDispatcher, type RunningDispatcher } from '../workers/webhook-dispatcher';
import { connectStore, type Store } from '../lib/mongo';
import { FieldCrypto } from '../lib/crypto/fields';
import { addKeyVersion, Keyring } from '../lib/crypto/keyring';
import { keyUsage } from '../lib/crypto/rotation';
import { seal, unseal } from '../lib/crypto/sealed';
import { randomBytes } from 'node:crypto';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'smart-steps.js');

/** Every document of every collection, as one string, for "is it anywhere?" questions. */
async function everything(db: Db): Promise<string> {
  const parts: string[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    for (const doc of await db.collection(name).find({}).toArray()) parts.push(JSON.stringify(doc));
  }
  return parts.join('\n');
}

describe('encryption at rest', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ss-keys-'));
  const keyFile = path.join(dir, 'encryption-keys.json');
  let rt: Runtime;
  let store: Store;
  let nats: OwnNats;
  let receiver: Receiver;
  let dispatcher: RunningDispatcher;
  const hookSecret = `whsec_${randomBytes(16).toString('hex')}`;

  // What must never be readable in the database.
  const pii = {
    first_name: 'Zephyrine',
    last_name: 'Quillfeather',
    email: 'zephyrine.quillfeather@example.org',
    phone: '+44 7700 900461',
    date_of_birth: '1987-03-14',
  };
  const said = 'My landlord Bartholomew Vexley keeps shouting and I feel anxious every night';
  const note = 'Discussed the Vexley tenancy dispute; follow up on sleep diary';

  beforeAll(async () => {
    addKeyVersion(keyFile);
    // Webhook deliveries are stored too (their payloads carry the words): its own NATS, so the
    // dispatcher sees only this file's events.
    nats = await startOwnNats('nats-encryption');
    receiver = await startReceiver(hookSecret);
    rt = await startRuntime({
      ...quickWebhookConfig(nats.url),
      // Keys from a key file only, as `npm start` runs it, so a new version can be added live.
      'security.encryption.key_file': keyFile,
      'security.encryption.keys': {},
    });
    dispatcher = await startDispatcher(rt.config, quietLogger, { identity: 'dispatcher-enc' });
    store = await connectStore(rt.config, 'encryption-test');
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await rt?.stop();
    await nats?.stop();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let clientId: string;
  let sessionId: string;

  it('stores no plaintext PII, transcript, note or analysis anywhere in MongoDB', async () => {
    const hook = await rt.http('POST', '/api/v1/webhooks', {
      url: receiver.url(),
      events: ['message.created', 'note.added', 'session.ended'],
      secret: hookSecret,
    });
    expect(hook.status).toBe(201);

    const created = await rt.http('POST', '/api/v1/clients', {
      ...pii,
      metadata: { referral: 'Dr Okonkwo-Lindqvist' },
    });
    expect(created.status).toBe(201);
    clientId = created.body.client_id;
    const session = await rt.http('POST', '/api/v1/sessions', {
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
      goals: ['Sleep better'],
    });
    sessionId = session.body.session_id;
    const events = await collectEvents(rt.bus, sessionId);
    await rt.http('POST', `/api/v1/sessions/${sessionId}/start`);
    const sent = await rt.http('POST', `/api/v1/sessions/${sessionId}/messages`, {
      content: said,
      sender_type: 'client',
    });
    expect(sent.status).toBe(201);
    await events.next(
      (e) => e.event === 'message.created' && e.data.message.sender_type === 'persona',
      'the persona reply',
    );
    await rt.http('POST', `/api/v1/sessions/${sessionId}/notes`, { content: note });
    await rt.http('POST', `/api/v1/sessions/${sessionId}/end`);
    await events.next((e) => e.event === 'session.ended', 'session.ended');
    await events.stop();

    // The API reads it all back in the clear.
    const details = await rt.http('GET', `/api/v1/sessions/${sessionId}`);
    expect(details.body.messages.map((m: { content: string }) => m.content)).toContain(said);
    expect(details.body.facilitator_notes[0].content).toBe(note);
    expect(details.body.summary).toEqual(expect.any(String));
    const client = await rt.http('GET', `/api/v1/clients/${clientId}`);
    expect(client.body).toMatchObject({ ...pii, metadata: { referral: 'Dr Okonkwo-Lindqvist' } });

    // Delivered in the clear and correctly signed: the dispatcher opened the sealed payload and
    // secret. The delivered tasks stay in the store, so they are part of what is checked below.
    await waitFor(
      'the session.ended delivery',
      () => receiver.accepted().some((r) => r.event === 'session.ended'),
      20_000,
    );
    expect(
      receiver.accepted().some((r) => JSON.stringify(r.body).includes(said) && r.verified),
    ).toBe(true);
    const raw = await everything(store.db);
    for (const secret of [
      ...Object.values(pii),
      'Quillfeather'.toLowerCase(),
      'zephyrine.quillfeather',
      'Okonkwo',
      'Bartholomew',
      'Vexley',
      'sleep diary',
    ]) {
      expect({ secret, found: raw.includes(secret) }).toEqual({ secret, found: false });
    }
    // The analysis stored at the end is encrypted too (it quotes the client).
    const doc = await store.db.collection('sessions').findOne({ _id: sessionId as never });
    expect(doc?.summary).toMatch(/^ss1:/);
    expect(doc?.analysis).toMatch(/^ss1:/);
  });

  it('finds clients by the start of a name or e-mail through blind indexes', async () => {
    const ids = async (search: string) =>
      (
        await rt.http('GET', `/api/v1/clients?search=${encodeURIComponent(search)}&limit=100`)
      ).body.clients.map((c: { client_id: string }) => c.client_id);
    expect(await ids('zeph')).toEqual([clientId]);
    expect(await ids('QUILL')).toEqual([clientId]);
    expect(await ids('Zephyrine Quillfeather')).toEqual([clientId]);
    expect(await ids('zephyrine.quill')).toEqual([clientId]);
    expect(await ids('quillfeathers')).toEqual([]);
    expect(await ids('feather')).toEqual([]);
    const tooShort = await rt.http('GET', '/api/v1/clients?search=z');
    expect(tooShort.status).toBe(422);
    // A second client with the same e-mail is refused, though the e-mail is stored encrypted.
    const dup = await rt.http('POST', '/api/v1/clients', {
      first_name: 'Other',
      last_name: 'Person',
      email: pii.email.toUpperCase(),
    });
    expect(dup.status).toBe(409);
  });

  it('binds each value to its place: a ciphertext copied elsewhere does not decrypt', () => {
    const ring = Keyring.of({ a: randomBytes(32) }, 'a', randomBytes(32));
    const sealed = seal(ring, 'client', 'Zephyrine', 'clients:c_1:first_name');
    expect(unseal(ring, 'client', sealed, 'clients:c_1:first_name')).toBe('Zephyrine');
    expect(() => unseal(ring, 'client', sealed, 'clients:c_2:first_name')).toThrow(
      /does not authenticate/,
    );
    expect(() => unseal(ring, 'transcript', sealed, 'clients:c_1:first_name')).toThrow(
      /does not authenticate/,
    );
  });

  it('rotates keys live: a new version is used at once, old values are re-encrypted, the old key retires', async () => {
    // A client stored before encryption was on: plain, without blind indexes.
    await store.db.collection('clients').insertOne({
      _id: 'c_legacyplain0001' as never,
      client_id: 'c_legacyplain0001',
      first_name: 'Ottoline',
      last_name: 'Brackenbury',
      created_at: new Date().toISOString(),
      created_by: 'admin',
      updated_at: new Date().toISOString(),
      metadata: {},
    });
    const { id: newKey } = addKeyVersion(keyFile);
    const fields = FieldCrypto.fromConfig(rt.config);
    expect(fields.activeKeyId).toBe(newKey);
    const before = await keyUsage(store.db, fields);
    expect(before.clients).toMatchObject({ k1: 6, plain: 3 });

    // The CLI does the rotation, as an operator would, while the API keeps running.
    const env = {
      ...process.env,
      SMARTSTEPS_STORAGE__CONNECTION__URI: rt.config.storage.connection.uri,
      SMARTSTEPS_STORAGE__CONNECTION__DATABASE: rt.config.storage.connection.database,
      SMARTSTEPS_SECURITY__ENCRYPTION__KEY_FILE: keyFile,
      SMARTSTEPS_SECURITY__ENCRYPTION__INDEX_KEY: rt.config.security.encryption.index_key,
      SMARTSTEPS_SECURITY__ENCRYPTION__KEY_MANAGEMENT__MINIMUM_KEY_VERSIONS: '1',
      // `keys retire` also asks Temporal whether a running session still needs the key.
      SMARTSTEPS_TEMPORAL__ADDRESS: rt.config.temporal.address,
      SMARTSTEPS_TEMPORAL__TASK_QUEUES__SESSIONS: rt.config.temporal.task_queues.sessions,
      SMARTSTEPS_LOGGING__LEVEL: 'warn',
    };
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, out }));
      });
    const early = await cli(['keys', 'retire', '--id', 'k1']);
    expect(early.code).toBe(2);
    expect(early.out).toMatch(/still encrypted under 'k1'.*keys rotate/);

    const rotated = await cli(['keys', 'rotate', '--batch-size', '2']);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(/done: [1-9]\d* of \d+ document\(s\) re-encrypted/);
    const after = await keyUsage(store.db, fields);
    for (const [collection, counts] of Object.entries(after)) {
      expect({ collection, k1: counts.k1 ?? 0 }).toEqual({ collection, k1: 0 });
    }
    expect(after.clients).toEqual({ [newKey]: 9 });
    expect(after.messages?.[newKey]).toBeGreaterThan(1);

    // The running API reads the re-encrypted data and finds the converted legacy client.
    const details = await rt.http('GET', `/api/v1/sessions/${sessionId}`);
    expect(details.body.messages.map((m: { content: string }) => m.content)).toContain(said);
    const found = await rt.http('GET', '/api/v1/clients?search=bracken');
    expect(found.body.clients.map((c: { client_id: string }) => c.client_id)).toEqual([
      'c_legacyplain0001',
    ]);
    expect(JSON.stringify(await store.db.collection('clients').find({}).toArray())).not.toContain(
      'Brackenbury',
    );

    const status = await cli(['keys', 'status']);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`${newKey}\\s+active`));
    const json = await cli(['keys', 'status', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({
      keys: expect.arrayContaining([
        expect.objectContaining({ id: newKey, active: true, values: expect.any(Number) }),
        expect.objectContaining({ id: 'k1', active: false, values: 0 }),
      ]),
      plain_values: 0,
    });
    const retired = await cli(['keys', 'retire', '--id', 'k1']);
    expect(retired.out).toContain('retired key k1');
    expect(retired.code).toBe(0);
    const again = await rt.http('GET', `/api/v1/clients/${clientId}`);
    expect(again.body.first_name).toBe(pii.first_name);
  });
});
