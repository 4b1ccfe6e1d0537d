/**
 * `smart-steps db init`: creates the collections' indexes (the unique ones on users among them).
 * Idempotent: a second run creates nothing and says so.
 */
import { ensureIndexes } from '../../lib/store/collections';
import { commandConfig, parseFlags, subcommand, withStore } from './support';

export async function runDb(args: string[]): Promise<void> {
  const [, rest] = subcommand(args, ['init']);
  parseFlags(rest, {});
  const config = commandConfig(rest);
  const created = await withStore(config, (store) => ensureIndexes(store.db));
  const db = config.storage.connection.database;
  if (created.length === 0) {
    process.stdout.write(`database ${db}: indexes already up to date\n`);
    return;
  }
  process.stdout.write(`database ${db}: created ${created.length} indexes\n`);
  for (const name of created) process.stdout.write(`  ${name}\n`);
}
