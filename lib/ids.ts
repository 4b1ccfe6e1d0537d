import { randomBytes } from 'node:crypto';

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
