import { MongoClient, type Db } from 'mongodb';
import type { Config } from './config';

export interface Store {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/**
 * One MongoClient per process. The embedded default is FerretDB on SQLite, so callers keep to
 * what it supports: no transactions, change streams, TTL or text indexes, $lookup or $facet.
 */
export async function connectStore(config: Config, appName = 'smart-steps'): Promise<Store> {
  const c = config.storage.connection;
  const client = new MongoClient(c.uri, {
    appName,
    maxPoolSize: c.max_pool_size,
    minPoolSize: c.min_pool_size,
    serverSelectionTimeoutMS: c.server_selection_timeout_ms,
  });
  await client.connect();
  return {
    client,
    db: client.db(c.database),
    close: () => client.close(),
  };
}

export async function pingStore(store: Store): Promise<void> {
  await store.db.command({ ping: 1 });
}
