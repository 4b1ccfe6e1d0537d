/**
 * Password hashing with scrypt (memory-hard, in Node's own crypto: no native add-on to build).
 * A hash names its parameters — `scrypt$ln=15,r=8,p=1$<salt>$<hash>` — so the cost can be raised
 * later: old hashes still verify, and `needsRehash` tells the login path to upgrade them.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ValidationError } from '../errors';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/** N = 2^15, r = 8: about 32 MiB and tens of milliseconds per hash. */
const CURRENT: ScryptParams = { ln: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Stored hashes are trusted input, but bounding what one can demand keeps a corrupt or
// tampered document from making a login allocate gigabytes.
const LIMITS = { ln: [10, 17], r: [1, 16], p: [1, 4] } as const;

const FORMAT = /^scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Throws a ValidationError saying what is wrong with a new password. */
export function assertPasswordPolicy(password: string): void {
  // Counted in characters (code points), as a person would count them.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw new ValidationError(`password must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new ValidationError(`password must be at most ${PASSWORD_MAX_LENGTH} characters`);
  }
}

export async function hashPassword(password: string): Promise<string> {
  assertPasswordPolicy(password);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, CURRENT, KEY_BYTES);
  const { ln, r, p } = CURRENT;
  return `scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

/** True when `password` matches; false on a mismatch or a hash this module cannot read. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded);
  if (!parsed || [...password].length > PASSWORD_MAX_LENGTH) return false;
  const key = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
  return timingSafeEqual(key, parsed.hash);
}

/** A readable hash made with other parameters than today's should be replaced at next login. */
export function needsRehash(encoded: string): boolean {
  const parsed = parse(encoded);
  if (!parsed) return true;
  const { ln, r, p } = parsed.params;
  return (
    ln !== CURRENT.ln ||
    r !== CURRENT.r ||
    p !== CURRENT.p ||
    parsed.salt.length !== SALT_BYTES ||
    parsed.hash.length !== KEY_BYTES
  );
}

function parse(encoded: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  const m = FORMAT.exec(encoded);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = LIMITS[name];
    if (params[name] < min || params[name] > max) return undefined;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) return undefined;
  return { params, salt, hash };
}

function derive(
  password: string,
  salt: Buffer,
  { ln, r, p }: ScryptParams,
  length: number,
): Promise<Buffer> {
  const N = 2 ** ln;
  const options: ScryptOptions = {
    N,
    r,
    p,
    // OpenSSL needs 128·r·(N+2) + 128·r·p bytes; Node's 32 MiB default is just short of N=2^15.
    maxmem: 128 * r * (N + 2 + p) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}
