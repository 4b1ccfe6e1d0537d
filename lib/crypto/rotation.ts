/**
 * Re-encryption in place, for `smart-steps keys rotate`: every sealed field still under an older
 * key version (or stored plain but meant to be sealed) is rewritten under the active key, in
 * batches by `_id`, while the apps keep serving — they read any version in the ring. Each write
 * is conditional on the value it replaces, so a value the apps changed meanwhile is left to them
 * (it was sealed under the active key anyway) instead of being overwritten with an older copy.
 */
import type { Db } from 'mongodb';
import type { FieldCrypto, SealedField } from './fields';
import { isSealed, sealedKeyId } from './sealed';

export interface RotationProgress {
  collection: string;
  scanned: number;
  rewritten: number;
}

export interface RotationResult {
  scanned: number;
  rewritten: number;
  /** Values changed by the apps while being rewritten (already under the active key). */
  skipped: number;
  collections: RotationProgress[];
}

export async function rotateKeys(
  db: Db,
  fields: FieldCrypto,
  opts: { batchSize?: number; onProgress?: (p: RotationProgress) => void } = {},
): Promise<RotationResult> {
  const batchSize = opts.batchSize ?? 200;
  const byCollection = groupByCollection(fields.sealedFields());
  const result: RotationResult = { scanned: 0, rewritten: 0, skipped: 0, collections: [] };
  for (const [collection, specs] of byCollection) {
    const progress: RotationProgress = { collection, scanned: 0, rewritten: 0 };
    const col = db.collection<Record<string, unknown> & { _id: string }>(collection);
    const fieldNames = [
      ...specs.map((s) => s.field),
      ...(collection === 'clients' ? ['search_index'] : []),
    ];
    const projection: Record<string, 1> = Object.fromEntries(fieldNames.map((f) => [f, 1]));
    let after: string | undefined;
    for (;;) {
      const batch = await col
        .find(after === undefined ? {} : { _id: { $gt: after } }, { projection })
        .sort({ _id: 1 })
        .limit(batchSize)
        .toArray();
      if (batch.length === 0) break;
      for (const doc of batch) {
        const set: Record<string, unknown> = {};
        const expect: Record<string, unknown> = {};
        for (const spec of specs) {
          const next = fields.rewrap(spec, doc._id, doc[spec.field]);
          if (next === undefined) continue;
          set[spec.field] = next;
          expect[spec.field] = doc[spec.field];
        }
        // Clients stored before encryption have no blind indexes yet: search needs them.
        if (collection === 'clients' && doc.search_index === undefined) {
          set.search_index = fields.clientSearchIndex(
            fields.openClient(doc) as { first_name?: string; last_name?: string; email?: string },
          );
        }
        if (Object.keys(set).length === 0) continue;
        const updated = await col.updateOne({ _id: doc._id, ...expect }, { $set: set });
        if (updated.modifiedCount === 1) progress.rewritten++;
        else result.skipped++;
      }
      progress.scanned += batch.length;
      after = batch[batch.length - 1]!._id;
      opts.onProgress?.({ ...progress });
    }
    result.scanned += progress.scanned;
    result.rewritten += progress.rewritten;
    result.collections.push(progress);
  }
  return result;
}

/** How many stored values each key version (or `plain`) holds, per collection. */
export async function keyUsage(
  db: Db,
  fields: FieldCrypto,
): Promise<Record<string, Record<string, number>>> {
  const usage: Record<string, Record<string, number>> = {};
  for (const [collection, specs] of groupByCollection(fields.sealedFields())) {
    const counts: Record<string, number> = {};
    const cursor = db
      .collection<Record<string, unknown>>(collection)
      .find({}, { projection: Object.fromEntries(specs.map((s) => [s.field, 1])) });
    for await (const doc of cursor) {
      for (const spec of specs) {
        const value = doc[spec.field];
        if (value === undefined || value === null) continue;
        const version = isSealed(value) ? sealedKeyId(value)! : 'plain';
        counts[version] = (counts[version] ?? 0) + 1;
      }
    }
    usage[collection] = counts;
  }
  return usage;
}

function groupByCollection(specs: SealedField[]): Map<string, SealedField[]> {
  const map = new Map<string, SealedField[]>();
  for (const spec of specs) map.set(spec.collection, [...(map.get(spec.collection) ?? []), spec]);
  return map;
}
