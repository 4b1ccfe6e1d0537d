import { createHash, randomBytes } from 'node:crypto';

/** Entity prefixes from DESIGN.md; the prefix tells a reader what an id names. */
export const ID_PREFIX = {
  session: 's_',
  client: 'c_',
  message: 'm_',
  note: 'n_',
  webhook: 'wh_',
  user: 'u_',
  series: 'sr_',
  request: 'req_',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Unbiased random string over [a-z0-9]: 16 chars ≈ 82 bits, enough to never collide in practice. */
export function randomToken(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 252 = 7 * 36: dropping the top bytes keeps every character equally likely.
      if (byte < 252) out += ALPHABET[byte % 36];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newId(kind: IdKind, length = 16): string {
  return ID_PREFIX[kind] + randomToken(length);
}

/**
 * The id a retried request must get again: derived from `seed` (e.g. an Idempotency-Key scoped
 * to its caller and path), it has the form of a random id, so nothing downstream can tell them
 * apart. Modulo bias over a 256-bit digest is irrelevant here: these need to be stable, not secret.
 */
export function idFrom(kind: IdKind, seed: string, length = 16): string {
  const digest = createHash('sha256').update(`${kind}\n${seed}`).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[digest[i]! % 36];
  return ID_PREFIX[kind] + out;
}
