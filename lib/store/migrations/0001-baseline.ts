import { ensureIndexes } from '../collections';
import { createMissingCollections } from '../inventory';
import type { Migration } from './types';

/** What `db init` does: every collection and index this release reads through. */
export const baseline: Migration = {
  version: 1,
  name: 'baseline',
  description: 'Collections and indexes',
  async up({ db }) {
    const collections = await createMissingCollections(db);
    const indexes = await ensureIndexes(db);
    return `${collections.length} collection(s) and ${indexes.length} index(es) created`;
  },
};
