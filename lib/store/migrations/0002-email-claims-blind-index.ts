import { COLLECTIONS, isDuplicateKey } from '../collections';
import type { Migration } from './types';

interface EmailClaim {
  _id: string;
  client_id: string;
}

/**
 * Before encryption at rest, a client's e-mail claim (`client_emails`, which keeps e-mails unique
 * per owner) was keyed `<owner>\n<lowercased address>`; the API now keys it by the address's blind
 * index (api/clients/service.ts), so old claims no longer guard anything and still hold the
 * address in plain text. This re-keys them. `plain:email:<address>` keys (written while no keys
 * were configured) are re-keyed too once keys exist.
 *
 * A claim whose client has since changed or lost that e-mail is re-keyed all the same: the API
 * treats a claim whose holder no longer has the address as stale and takes it over.
 */
export const emailClaimsBlindIndex: Migration = {
  version: 2,
  name: 'email-claims-blind-index',
  description: 'E-mail uniqueness claims keyed by the blind index instead of the plain address',
  async up({ db, fields, progress }) {
    const claims = db.collection<EmailClaim>(COLLECTIONS.clientEmails);
    let scanned = 0;
    let rekeyed = 0;
    let after: string | undefined;
    for (;;) {
      const batch = await claims
        .find(after === undefined ? {} : { _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(500)
        .toArray();
      if (batch.length === 0) break;
      for (const claim of batch) {
        const cut = claim._id.indexOf('\n');
        const address = cut < 0 ? undefined : claimedAddress(claim._id.slice(cut + 1));
        if (address === undefined) continue;
        const current = `${claim._id.slice(0, cut)}\n${fields.emailIndex(address)}`;
        if (current === claim._id) continue;
        try {
          await claims.insertOne({ _id: current, client_id: claim.client_id });
        } catch (err) {
          // Already claimed under the new key (by this client, or one the API will judge).
          if (!isDuplicateKey(err)) throw err;
        }
        // Only if untouched since it was read; a run after the API changed it retries it.
        const removed = await claims.deleteOne({ _id: claim._id, client_id: claim.client_id });
        rekeyed += removed.deletedCount;
      }
      scanned += batch.length;
      after = batch[batch.length - 1]!._id;
      if (scanned % 10_000 < batch.length) progress(`client_emails: ${scanned} scanned`);
    }
    return `${rekeyed} e-mail claim(s) re-keyed`;
  },
};

/**
 * The address in an old-style claim key, or undefined for a blind index (22 base64url characters,
 * which never contain `@`).
 */
function claimedAddress(key: string): string | undefined {
  if (key.startsWith('plain:email:')) return key.slice('plain:email:'.length);
  return key.includes('@') ? key : undefined;
}
