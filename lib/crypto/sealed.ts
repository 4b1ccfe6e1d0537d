/**
 * One encrypted value as stored: `ss1:<key id>:<iv>:<ciphertext+tag>` (base64url), AES-256-GCM
 * over the value's JSON, so strings, dates and objects all round-trip. The key id travels with
 * the value; `aad` binds it to where it belongs (collection, document, field), so a ciphertext
 * copied into another document or field does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyPurpose } from './categories';
import type { Keyring } from './keyring';

const PREFIX = 'ss1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/** The key id a sealed value was made with (undefined for a plain value). */
export function sealedKeyId(value: unknown): string | undefined {
  if (!isSealed(value)) return undefined;
  return value.slice(PREFIX.length, value.indexOf(':', PREFIX.length));
}

export function seal(ring: Keyring, purpose: KeyPurpose, value: unknown, aad: string): string {
  const id = ring.activeId;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ring.key(purpose, id), iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([
    cipher.update(JSON.stringify(value), 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return `${PREFIX}${id}:${iv.toString('base64url')}:${body.toString('base64url')}`;
}

/** The value inside; a value that is not sealed is returned as it is (data from before). */
export function unseal<T = unknown>(
  ring: Keyring,
  purpose: KeyPurpose,
  value: unknown,
  aad: string,
): T {
  if (!isSealed(value)) return value as T;
  const [, id, ivText, bodyText] = value.split(':');
  if (!id || !ivText || !bodyText) throw new SealedValueError('malformed encrypted value');
  const body = Buffer.from(bodyText, 'base64url');
  const decipher = createDecipheriv(
    'aes-256-gcm',
    ring.key(purpose, id),
    Buffer.from(ivText, 'base64url'),
  );
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  let text: string;
  try {
    text = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    // Wrong key material or a value moved from elsewhere: say so without echoing anything.
    throw new SealedValueError(`encrypted value does not authenticate under key '${id}'`);
  }
  return JSON.parse(text) as T;
}

export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}
