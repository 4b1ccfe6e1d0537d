/**
 * The store applies each update of a document atomically, as MongoDB does, also on the embedded
 * FerretDB (whose own updates read and write back with nothing held between: see
 * scripts/ferretdb/atomic.go). Processes that update one document at once — a workflow's write
 * beside the end-of-session analysis, key rotation beside a live session — keep each other's
 * changes.
 */
import type { Document } from 'mongodb';
import { connectStore, type Store } from '../lib/mongo';
import { testConfig } from './helpers/stack';

describe('concurrent updates of one document', () => {
  let store: Store;
  beforeAll(async () => {
    store = await connectStore(testConfig());
  });
  afterAll(async () => store?.close());

  const WRITERS = 20;
  const probe = () =>
    store.db.collection<Document & { _id: string }>(
      `atomic_${Math.random().toString(36).slice(2, 8)}`,
    );

  it('keeps every field set by writers at once', async () => {
    const col = probe();
    await col.insertOne({ _id: 'doc' });
    await Promise.all(
      Array.from({ length: WRITERS }, (_, i) =>
        col.updateOne({ _id: 'doc' }, { $set: { [`field_${i}`]: i } }),
      ),
    );
    const doc = await col.findOne({ _id: 'doc' });
    expect(Object.keys(doc!).filter((k) => k.startsWith('field_'))).toHaveLength(WRITERS);
  });

  it('counts every increment', async () => {
    const col = probe();
    await col.insertOne({ _id: 'counter', n: 0 });
    await Promise.all(
      Array.from({ length: WRITERS }, () => col.updateOne({ _id: 'counter' }, { $inc: { n: 1 } })),
    );
    expect((await col.findOne({ _id: 'counter' }))?.n).toBe(WRITERS);
  });

  it('lets exactly one of several writers win an update conditional on what they read', async () => {
    const col = probe();
    await col.insertOne({ _id: 'lease', version: 0 });
    const results = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) =>
        col.updateOne({ _id: 'lease', version: 0 }, { $set: { version: 1, owner: i } }),
      ),
    );
    expect(results.filter((r) => r.matchedCount === 1)).toHaveLength(1);
    const winner = results.findIndex((r) => r.matchedCount === 1);
    expect(await col.findOne({ _id: 'lease' })).toEqual({
      _id: 'lease',
      version: 1,
      owner: winner,
    });
  });

  it('upserts one document when writers race to create it', async () => {
    const col = probe();
    const results = await Promise.allSettled(
      Array.from({ length: WRITERS }, (_, i) =>
        col.updateOne({ _id: 'new' }, { $set: { [`by_${i}`]: true } }, { upsert: true }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const doc = await col.findOne({ _id: 'new' });
    expect(Object.keys(doc!).filter((k) => k.startsWith('by_'))).toHaveLength(WRITERS);
  });
});
