import { MongoServerError } from 'mongodb';
import { connectStore, type Store } from '../lib/mongo';
import { COLLECTIONS, ensureIndexes } from '../lib/store/collections';
import { testConfig, waitFor } from './helpers/stack';

describe('MongoDB wire server (FerretDB on SQLite)', () => {
  const config = testConfig();
  let store: Store;

  beforeAll(async () => {
    store = await connectStore(config, 'mongo-test');
  });

  afterAll(async () => {
    await store?.db.dropDatabase();
    await store?.close();
  });

  it('stores documents and finds them by field, in a stable order', async () => {
    const clients = store.db.collection('clients');
    await clients.insertMany([
      { client_id: 'c_1', first_name: 'Jane', created_at: new Date('2025-05-11T10:40:00Z') },
      { client_id: 'c_2', first_name: 'Omar', created_at: new Date('2025-05-12T10:40:00Z') },
    ]);
    const found = await clients
      .find({}, { projection: { _id: 0 } })
      .sort({ created_at: -1, client_id: -1 })
      .toArray();
    expect(found.map((c) => c.client_id as string)).toEqual(['c_2', 'c_1']);
    expect(
      await clients.findOne({ first_name: 'Jane' }, { projection: { _id: 0, client_id: 1 } }),
    ).toEqual({
      client_id: 'c_1',
    });
  });

  it('looks documents up by _id through an index, not by reading the whole collection', async () => {
    // FerretDB's own _id index does not serve its own _id filter; the dev stack's FerretDB adds
    // one that does (scripts/ferretdb/main.go), to each new collection within seconds.
    const sessions = store.db.collection<{ _id: string }>('lookup_by_id');
    await sessions.insertMany([{ _id: 's_1' }, { _id: 's_2' }]);
    // A query first: it is what makes FerretDB's connection see a schema change (explain alone
    // plans against the schema its connection last read).
    const plan = async (): Promise<string> => {
      await sessions.findOne({ _id: 's_1' });
      const explained = (await sessions.find({ _id: 's_2' }).explain()) as {
        queryPlanner?: unknown;
      };
      return JSON.stringify(explained.queryPlanner);
    };
    expect(await plan()).toMatch(/SCAN|SEARCH/); // the plan is there to read
    await waitFor(
      'the _id filter to use an index',
      async () => /USING INDEX/.test(await plan()),
      15_000,
    );
    expect(await sessions.findOne({ _id: 's_2' })).toEqual({ _id: 's_2' });
  });

  it('rejects a second document with the same unique key, which idempotent writes rely on', async () => {
    const messages = store.db.collection('messages');
    await messages.createIndex({ id: 1 }, { unique: true });
    await messages.insertOne({ id: 'm_1', content: 'hello' });
    const duplicate = messages.insertOne({ id: 'm_1', content: 'hello again' });
    await expect(duplicate).rejects.toBeInstanceOf(MongoServerError);
    await expect(duplicate).rejects.toMatchObject({ code: 11000 });
    expect(await messages.countDocuments({ id: 'm_1' })).toBe(1);
  });

  it('makes an upsert keyed by id a no-op the second time', async () => {
    const notes = store.db.collection('notes');
    await notes.createIndex({ id: 1 }, { unique: true });
    for (let i = 0; i < 2; i++) {
      await notes.updateOne(
        { id: 'n_1' },
        { $setOnInsert: { id: 'n_1', content: 'first' } },
        { upsert: true },
      );
    }
    expect(await notes.find({ id: 'n_1' }, { projection: { _id: 0 } }).toArray()).toEqual([
      { id: 'n_1', content: 'first' },
    ]);
  });

  it('has an index leading with every field a list endpoint filters on', async () => {
    const db = store.client.db(`${config.storage.connection.database}_indexes`);
    await ensureIndexes(db);
    // Filters of GET /sessions, /clients, /session-series, /webhooks and a session's messages;
    // owner_id is the facilitator's own-records filter, search_index what a client search matches.
    const filters: Record<string, string[]> = {
      [COLLECTIONS.sessions]: ['client_id', 'persona_id', 'status', 'owner_id', 'created_at'],
      [COLLECTIONS.clients]: ['owner_id', 'created_at', 'search_index'],
      [COLLECTIONS.series]: ['client_id', 'owner_id', 'created_at'],
      [COLLECTIONS.webhooks]: ['owner_id', 'created_at'],
      [COLLECTIONS.messages]: ['session_id'],
      [COLLECTIONS.notes]: ['session_id'],
    };
    const unindexed: string[] = [];
    for (const [collection, fields] of Object.entries(filters)) {
      const leading = new Set(
        (await db.collection(collection).listIndexes().toArray()).map(
          (i) => Object.keys(i.key as Record<string, unknown>)[0],
        ),
      );
      for (const f of fields) if (!leading.has(f)) unindexed.push(`${collection}.${f}`);
    }
    expect(unindexed).toEqual([]);
    // Idempotent: a second run creates nothing.
    expect(await ensureIndexes(db)).toEqual([]);
    await db.dropDatabase();
  });
});
