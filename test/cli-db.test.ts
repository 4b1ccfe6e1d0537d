/**
 * `smart-steps db init|status|migrate|backup|restore` run as an operator would, against the
 * harness's FerretDB: a backup restored into a wiped database gives back every document exactly
 * (types, nesting, encrypted fields); truncated, altered and foreign files are refused and leave
 * the database as it was; migrations applied twice change nothing the second time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Binary, Double, Int32, Long, type Db } from 'mongodb';
import { EJSON } from 'bson';
import type { Config } from '../lib/config';
import { FieldCrypto } from '../lib/crypto/fields';
import { connectStore, type Store } from '../lib/mongo';
import { COLLECTIONS } from '../lib/store/collections';
import { SCHEMA_VERSION } from '../lib/store/migrations';
import { RAW_READ, type Manifest } from '../lib/store/backup/manifest';
import { ZipReader, ZipWriter } from '../lib/store/zip';
import { encryptionEnv, TEST_ENCRYPTION, testConfig } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'smart-steps.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One database per scenario, each with the CLI pointed at it through the environment. */
interface Target {
  config: Config;
  store: Store;
  db: Db;
  cli(args: string[]): Promise<Run>;
}

const targets: Target[] = [];

async function target(): Promise<Target> {
  const config = testConfig();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SMARTSTEPS_STORAGE__CONNECTION__URI: config.storage.connection.uri,
    SMARTSTEPS_STORAGE__CONNECTION__DATABASE: config.storage.connection.database,
    SMARTSTEPS_NATS__SERVERS: config.nats.servers.join(','),
    SMARTSTEPS_LOGGING__LEVEL: 'warn',
    ...encryptionEnv(),
  };
  delete env.SMARTSTEPS_CONFIG;
  const store = await connectStore(config, 'cli-db-test');
  const t: Target = {
    config,
    store,
    db: store.db,
    cli: (args) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      }),
  };
  targets.push(t);
  return t;
}

/** Every collection's documents in `_id` order as canonical EJSON, and its index names. */
async function snapshot(db: Db): Promise<Record<string, { docs: string[]; indexes: string[] }>> {
  const out: Record<string, { docs: string[]; indexes: string[] }> = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  for (const name of names.sort()) {
    const docs = await db
      .collection(name)
      .find({}, { ...RAW_READ, sort: { _id: 1 } })
      .toArray();
    const indexes = await db.collection(name).listIndexes().toArray();
    out[name] = {
      docs: docs.map((d) => EJSON.stringify(d, { relaxed: false })),
      indexes: indexes.map((i) => String(i.name)).sort(),
    };
  }
  return out;
}

/** A copy of a backup with its entries passed through `change` (a valid ZIP, other contents). */
async function rewriteBackup(
  from: string,
  to: string,
  change: (name: string, data: Buffer) => Buffer | undefined,
): Promise<void> {
  const reader = await ZipReader.open(from);
  const writer = await ZipWriter.create(to);
  for (const entry of reader.entries.values()) {
    const data = change(entry.name, await reader.readAll(entry, 1 << 30));
    if (data) await writer.add(entry.name, [data]);
  }
  await writer.close();
}

async function manifestOf(file: string): Promise<Manifest> {
  const reader = await ZipReader.open(file);
  const entry = reader.entries.get('manifest.json')!;
  return JSON.parse((await reader.readAll(entry, 1 << 24)).toString('utf8')) as Manifest;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ss-cli-db-'));
const file = (name: string) => path.join(dir, name);

afterAll(async () => {
  for (const t of targets) {
    await t.db.dropDatabase().catch(() => undefined);
    await t.store.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('smart-steps db init and migrate', () => {
  it('db init on a new database creates collections and indexes and records the latest schema version; a second run changes nothing', async () => {
    const t = await target();
    const first = await t.cli(['db', 'init']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('users.email_unique');
    expect(first.stdout).toContain(`schema version ${SCHEMA_VERSION} (new database`);
    const collections = (await t.db.listCollections({}, { nameOnly: true }).toArray()).map(
      (c) => c.name,
    );
    expect(collections.sort()).toEqual(Object.values(COLLECTIONS).sort());
    const records = await t.db.collection(COLLECTIONS.schemaMigrations).find({}).toArray();
    expect(records.map((r) => r.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    const before = await snapshot(t.db);

    const second = await t.cli(['db', 'init']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('indexes already up to date');
    expect(second.stdout).not.toContain('created');
    expect(second.stdout).toContain(`schema version ${SCHEMA_VERSION} (up to date)`);
    expect(await snapshot(t.db)).toEqual(before);

    const status = await t.cli(['db', 'status', '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      version: number;
      latest: number;
      migrations: { state: string }[];
    };
    expect(parsed.version).toBe(SCHEMA_VERSION);
    expect(parsed.latest).toBe(SCHEMA_VERSION);
    expect(parsed.migrations.map((m) => m.state)).toEqual([
      'applied',
      ...Array(SCHEMA_VERSION - 1).fill('baseline'),
    ]);
  });

  it('db migrate converts data written by earlier releases, records each migration, and a second run is a no-op', async () => {
    const t = await target();
    const fields = FieldCrypto.fromConfig(t.config);
    // As releases before encryption at rest and erasure stored them.
    await t.db.collection<{ _id: string; client_id: string }>(COLLECTIONS.clientEmails).insertMany([
      { _id: 'u_owner1\nana@example.com', client_id: 'c_ana' },
      { _id: '-\nplain:email:bo@example.com', client_id: 'c_bo' },
      { _id: `u_owner1\n${fields.emailIndex('cy@example.com')}`, client_id: 'c_cy' },
    ]);
    const task = (id: string, trigger: string, orderKey: string) => ({
      _id: id,
      webhook_id: 'wh_1',
      event_id: id.split(':')[1],
      event: 'message.created',
      trigger,
      order_key: orderKey,
      seq: 1,
      payload: {},
      state: 'delivered',
      attempts: 1,
      due_at: 0,
      created_at: '2026-01-01T00:00:00.000Z',
    });
    await t.db
      .collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.webhookTasks)
      .insertMany([
        task('wh_1:evt_a', 'event', 'wh_1:session.s_one'),
        task('wh_1:evt_a:r_1', 'redeliver', 'wh_1:evt_a:r_1'),
      ]);
    await t.db
      .collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.webhookTasksDone)
      .insertMany([
        task('wh_1:evt_b', 'event', 'wh_1:client.c_ana'),
        task('wh_1:evt_p', 'ping', 'wh_1:evt_p'),
      ]);

    // A database with data and no records: init leaves the data migrations pending.
    const init = await t.cli(['db', 'init']);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`schema version 1 of ${SCHEMA_VERSION}`);
    expect(init.stdout).toContain('0002-email-claims-blind-index');

    const dry = await t.cli(['db', 'migrate', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(
      (JSON.parse(dry.stdout) as { pending: { id: string }[] }).pending.map((p) => p.id),
    ).toEqual(['0002-email-claims-blind-index', '0003-webhook-task-subjects']);
    expect(
      await t.db
        .collection(COLLECTIONS.clientEmails)
        .findOne({ _id: 'u_owner1\nana@example.com' as never }),
    ).not.toBeNull();

    const first = await t.cli(['db', 'migrate']);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applying 0002-email-claims-blind-index');
    expect(first.stdout).toContain('2 e-mail claim(s) re-keyed');
    expect(first.stdout).toContain(`schema version ${SCHEMA_VERSION}`);

    const claims = await t.db
      .collection<{ _id: string; client_id: string }>(COLLECTIONS.clientEmails)
      .find({})
      .sort({ _id: 1 })
      .toArray();
    expect(claims).toEqual(
      [
        { _id: `u_owner1\n${fields.emailIndex('ana@example.com')}`, client_id: 'c_ana' },
        { _id: `-\n${fields.emailIndex('bo@example.com')}`, client_id: 'c_bo' },
        { _id: `u_owner1\n${fields.emailIndex('cy@example.com')}`, client_id: 'c_cy' },
      ].sort((a, b) => (a._id < b._id ? -1 : 1)),
    );
    expect(JSON.stringify(claims)).not.toContain('@');

    const subjects = async (collection: string) =>
      Object.fromEntries(
        (
          await t.db.collection<{ _id: string; subject?: string }>(collection).find({}).toArray()
        ).map((d) => [d._id, d.subject]),
      );
    expect(await subjects(COLLECTIONS.webhookTasks)).toEqual({
      'wh_1:evt_a': 'session.s_one',
      'wh_1:evt_a:r_1': 'session.s_one',
    });
    expect(await subjects(COLLECTIONS.webhookTasksDone)).toEqual({
      'wh_1:evt_b': 'client.c_ana',
      'wh_1:evt_p': undefined,
    });

    const records = await t.db
      .collection(COLLECTIONS.schemaMigrations)
      .find({}, { sort: { version: 1 } })
      .toArray();
    expect(records.map((r) => [r._id, r.mode])).toEqual([
      ['0001-baseline', 'applied'],
      ['0002-email-claims-blind-index', 'applied'],
      ['0003-webhook-task-subjects', 'applied'],
    ]);
    const after = await snapshot(t.db);

    const second = await t.cli(['db', 'migrate']);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      `database ${t.config.storage.connection.database}: schema version ${SCHEMA_VERSION}, nothing to migrate\n`,
    );
    expect(await snapshot(t.db)).toEqual(after);
  });

  it('db migrate refuses a database migrated by a newer release', async () => {
    const t = await target();
    expect((await t.cli(['db', 'init'])).code).toBe(0);
    await t.db.collection(COLLECTIONS.schemaMigrations).insertOne({
      _id: '0999-from-the-future' as never,
      version: 999,
      name: 'from-the-future',
      checksum: 'x',
    });
    const run = await t.cli(['db', 'migrate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('migrated by a newer release');
  });
});

describe('smart-steps db backup and restore', () => {
  let source: Target;
  let original: Awaited<ReturnType<typeof snapshot>>;
  let backupRun: Run;
  const backup = file('backup.zip');
  const fieldsOf = (t: Target) => FieldCrypto.fromConfig(t.config);

  beforeAll(async () => {
    source = await target();
    expect((await source.cli(['db', 'init'])).code).toBe(0);
    const fields = fieldsOf(source);
    const db = source.db;
    await db.collection(COLLECTIONS.clients).insertOne({
      _id: 'c_backup1' as never,
      client_id: 'c_backup1',
      ...fields.sealClient('c_backup1', {
        first_name: 'Ana',
        last_name: 'Lima',
        email: 'ana@example.com',
        metadata: { goals: ['sleep', 'focus'], level: 3 },
      }),
      search_index: fields.clientSearchIndex({ first_name: 'Ana', last_name: 'Lima' }),
      created_at: '2026-01-02T03:04:05.678Z',
      owner_id: 'u_facilitator',
    });
    await db.collection(COLLECTIONS.sessions).insertOne({
      _id: 's_backup1' as never,
      status: 'completed',
      started: new Date('2026-01-02T03:04:05.678Z'),
      duration_minutes: new Int32(50),
      score: new Double(4),
      ratio: 0.125,
      total: Long.fromString('9007199254740993'),
      flags: { crisis: false, tags: ['a', { nested: [1, 2, { deep: null }] }] },
      view_messages: fields.sealView('s_backup1', 'messages', JSON.stringify([{ id: 'm_1' }])),
      raw: new Binary(Buffer.from([0, 1, 2, 255])),
      unicode: 'Olá — 你好 — 🙂\nsecond line',
    });
    await db.collection(COLLECTIONS.messages).insertMany(
      Array.from({ length: 1200 }, (_, i) => {
        const id = `m_${String(i).padStart(5, '0')}`;
        return {
          _id: id as never,
          session_id: 's_backup1',
          seq: i,
          content: fields.sealMessageContent(id, `message ${i}`),
        };
      }),
    );
    await db.collection(COLLECTIONS.users).insertMany([
      { _id: 'u_1' as never, username_lower: 'ana', email_lower: 'ana@example.com' },
      { _id: 'u_2' as never, username_lower: 'bo', email_lower: 'bo@example.com' },
    ]);
    // A collection this release does not know still belongs to the database.
    await db.collection('custom_extra').insertOne({ _id: 1 as never, note: 'kept' });
    original = await snapshot(db);
    backupRun = await source.cli(['db', 'backup', '--output', backup]);
  });

  it('writes every collection with counts, checksums and key ids, and prints no secrets', async () => {
    const run = backupRun;
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/written to .*backup\.zip: \d+ collections, 1208 documents/);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    for (const secret of [
      TEST_ENCRYPTION['security.encryption.index_key'],
      TEST_ENCRYPTION['security.encryption.keys'].t1,
    ]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
      expect(readFileSync(backup).includes(Buffer.from(secret))).toBe(false);
    }
    const manifest = await manifestOf(backup);
    expect(manifest.format).toBe('smart-steps-backup');
    expect(manifest.schema.version).toBe(SCHEMA_VERSION);
    expect(manifest.encryption.key_ids).toEqual(['t1']);
    expect(manifest.collections.map((c) => c.name)).toEqual(Object.keys(original));
    const messages = manifest.collections.find((c) => c.name === COLLECTIONS.messages)!;
    expect(messages.count).toBe(1200);
    expect(messages.sha256).toMatch(/^[0-9a-f]{64}$/);

    const again = await source.cli(['db', 'backup', '--output', backup]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('backup, wipe, restore gives back identical documents and indexes, readable with the same keys', async () => {
    await source.db.dropDatabase();
    const run = await source.cli(['db', 'restore', '--input', backup]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('restored 1208 documents');
    expect(await snapshot(source.db)).toEqual(original);

    const fields = fieldsOf(source);
    const client = await source.db
      .collection<{ _id: string }>(COLLECTIONS.clients)
      .findOne({ _id: 'c_backup1' });
    expect(fields.openClient(client!)).toMatchObject({
      first_name: 'Ana',
      email: 'ana@example.com',
    });
    const message = await source.db
      .collection<{ _id: string; content: string }>(COLLECTIONS.messages)
      .findOne({ _id: 'm_00042' });
    expect(fields.openMessage(message!).content).toBe('message 42');
  });

  it('restores into a database that db init prepared (its schema records are not data)', async () => {
    const fresh = await target();
    expect((await fresh.cli(['db', 'init'])).code).toBe(0);
    const run = await fresh.cli(['db', 'restore', '--input', backup]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await snapshot(fresh.db)).toEqual(original);
  });

  it('refuses to restore into a database holding data unless --force, and then makes it equal to the backup', async () => {
    await source.db.collection(COLLECTIONS.clients).insertOne({ _id: 'c_later' as never });
    await source.db.collection(COLLECTIONS.messages).deleteOne({ _id: 'm_00007' as never });
    await source.db.collection('made_after_backup').insertOne({ _id: 'x' as never });
    const changed = await snapshot(source.db);

    const refused = await source.cli(['db', 'restore', '--input', backup]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not empty');
    expect(refused.stderr).toContain('--force');
    expect(await snapshot(source.db)).toEqual(changed);

    const forced = await source.cli(['db', 'restore', '--input', backup, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(
      'dropped collections the backup did not have: made_after_backup',
    );
    expect(await snapshot(source.db)).toEqual(original);
  });

  it('refuses a truncated backup and leaves the database untouched', async () => {
    const size = statSync(backup).size;
    const cuts = [size - 1, size - 200, Math.floor(size / 2), 100];
    for (const cut of cuts) {
      const truncated = file(`truncated-${cut}.zip`);
      writeFileSync(truncated, readFileSync(backup));
      truncateSync(truncated, cut);
      const run = await source.cli(['db', 'restore', '--input', truncated, '--force']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /^smart-steps db: refusing truncated-\d+\.zip: truncated.*the database was not changed\n$/,
      );
    }
    expect(await snapshot(source.db)).toEqual(original);

    // Into an empty database nothing appears either.
    const empty = await target();
    const run = await empty.cli(['db', 'restore', '--input', file(`truncated-${cuts[2]}.zip`)]);
    expect(run.code).toBe(1);
    expect(await snapshot(empty.db)).toEqual({});
  });

  it('refuses files that are not its backups: another ZIP, random bytes, a foreign manifest', async () => {
    const otherZip = file('other.zip');
    const w = await ZipWriter.create(otherZip);
    await w.add('readme.txt', ['hello']);
    await w.close();
    const random = file('random.zip');
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    const foreign = file('foreign.zip');
    await rewriteBackup(backup, foreign, (name, data) =>
      name === 'manifest.json' ? Buffer.from(JSON.stringify({ format: 'something-else' })) : data,
    );
    const expectations: [string, RegExp][] = [
      [otherZip, /not a Smart Steps backup: it has no manifest\.json/],
      [random, /truncated, or not a ZIP archive/],
      [foreign, /not a Smart Steps backup: manifest\.json is not a smart-steps-backup/],
    ];
    for (const [input, message] of expectations) {
      const run = await source.cli(['db', 'restore', '--input', input, '--force']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await snapshot(source.db)).toEqual(original);
  });

  it('refuses a backup whose collection file was altered inside a valid ZIP', async () => {
    const altered = file('altered.zip');
    await rewriteBackup(backup, altered, (name, data) =>
      name === 'collections/users.jsonl'
        ? Buffer.from(data.toString('utf8').replace('"bo"', '"eve"'))
        : data,
    );
    const run = await source.cli(['db', 'restore', '--input', altered, '--force']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('collections/users.jsonl does not match its SHA-256');
    expect(await snapshot(source.db)).toEqual(original);

    // A flipped byte in the compressed data.
    const flipped = file('flipped.zip');
    const bytes = readFileSync(backup);
    const reader = await ZipReader.open(backup);
    const entry = reader.entries.get('collections/messages.jsonl')!;
    const dataStart = entry.localHeaderOffset + 30 + Buffer.byteLength(entry.name) + 20;
    bytes[dataStart + Math.floor(entry.compressedSize / 2)]! ^= 0xff;
    writeFileSync(flipped, bytes);
    const run2 = await source.cli(['db', 'restore', '--input', flipped, '--force']);
    expect(run2.code).toBe(1);
    // Depending on where the flip lands: bad deflate data, a line that is no longer JSON, or the
    // CRC — every one names the file.
    expect(run2.stderr).toMatch(/refusing flipped\.zip: .*damaged.*collections\/messages\.jsonl/);
    expect(await snapshot(source.db)).toEqual(original);
  });

  it('a backup that fails while loading (a unique index it cannot build) leaves the database as it was', async () => {
    const duplicate = file('duplicate.zip');
    const extra = `${EJSON.stringify({ _id: 'u_3', username_lower: 'ana', email_lower: 'x@example.com' }, { relaxed: false })}\n`;
    let users = '';
    await rewriteBackup(backup, duplicate, (name, data) => {
      if (name === 'collections/users.jsonl') {
        users = data.toString('utf8') + extra;
        return Buffer.from(users);
      }
      return data;
    });
    // The manifest is rewritten to match, so the file passes every check until the index.
    const { createHash } = await import('node:crypto');
    const fixed = file('duplicate-fixed.zip');
    await rewriteBackup(duplicate, fixed, (name, data) => {
      if (name !== 'manifest.json') return data;
      const m = JSON.parse(data.toString('utf8')) as Manifest;
      const u = m.collections.find((c) => c.name === 'users')!;
      u.count += 1;
      u.bytes = Buffer.byteLength(users);
      u.sha256 = createHash('sha256').update(users).digest('hex');
      return Buffer.from(JSON.stringify(m));
    });
    const run = await source.cli(['db', 'restore', '--input', fixed, '--force']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('restore stopped while loading the backup');
    expect(run.stderr).toContain('the database was not changed');
    expect(await snapshot(source.db)).toEqual(original);
  });

  it('refuses a backup made at a newer schema version', async () => {
    const newer = file('newer.zip');
    await rewriteBackup(backup, newer, (name, data) => {
      if (name !== 'manifest.json') return data;
      const m = JSON.parse(data.toString('utf8')) as Manifest;
      m.schema.version = SCHEMA_VERSION + 1;
      return Buffer.from(JSON.stringify(m));
    });
    const run = await source.cli(['db', 'restore', '--input', newer, '--force']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`newer than this release's ${SCHEMA_VERSION}`);
    expect(await snapshot(source.db)).toEqual(original);
  });
});

describe('smart-steps db command line', () => {
  it('--help shows every subcommand; misuse exits 2', async () => {
    const t = await target();
    const help = await t.cli(['db', '--help']);
    expect(help.code).toBe(0);
    for (const sub of ['init', 'status', 'migrate', 'backup --output', 'restore --input']) {
      expect(help.stdout).toContain(`smart-steps db ${sub}`);
    }
    for (const sub of ['init', 'status', 'migrate', 'backup', 'restore']) {
      const h = await t.cli(['db', sub, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`smart-steps db ${sub}`);
    }
    const misuse: [string[], string][] = [
      [['db'], 'a subcommand is needed'],
      [['db', 'vacuum'], "unknown subcommand 'vacuum'"],
      [['db', 'backup'], '--output is required'],
      [['db', 'restore'], '--input is required'],
      [['db', 'restore', '--input', file('does-not-exist.zip')], 'no file'],
      [['db', 'migrate', '--bogus'], "Unknown option '--bogus'"],
      [['db', 'backup', '--output', path.join(dir, 'missing-dir', 'x.zip')], 'no directory'],
    ];
    for (const [args, message] of misuse) {
      const run = await t.cli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
    }
    // Nothing of the misuse reached the database.
    expect(await snapshot(t.db)).toEqual({});
  });
});
