/**
 * Request signing as the spec's "Request Signing" section computes it: `X-Signature-Timestamp`
 * (Unix seconds) and `X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + body)>`, the
 * body being the exact bytes sent ('' when there is none). Only the pure checks live here;
 * which keys must sign, the secrets and replay protection are the AuthService's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../errors';
import type { Principal } from './roles';

export const TIMESTAMP_HEADER = 'X-Signature-Timestamp';
export const SIGNATURE_HEADER = 'X-Signature';

/** What a request offers to be checked: the two headers as received and its raw body. */
export interface SignedRequest {
  timestamp?: string | undefined;
  signature?: string | undefined;
  body: Buffer | string;
}

export type SignatureRejection =
  /** The key must sign and a header is missing. */
  | 'signature_required'
  /** The key must sign but was made without a secret (before signing existed, or without keys). */
  | 'no_signing_secret'
  | 'timestamp_invalid'
  | 'timestamp_out_of_window'
  | 'signature_malformed'
  | 'signature_mismatch'
  | 'signature_replayed';

export type SignatureCheck =
  | { ok: true; /** The 32 signature bytes, lower-case hex. */ signature: string }
  | { ok: false; reason: SignatureRejection; message: string };

/** `sha256=` + hex HMAC-SHA256 of `${timestamp}${body}`: the spec's `generate_signature`. */
export function signRequest(
  secret: string,
  timestamp: number | string,
  body: Buffer | string = '',
): string {
  return 'sha256=' + hmac(secret, String(timestamp), body).toString('hex');
}

const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Checks headers, clock window and HMAC, in that order; the cheap checks first so a flood of
 * junk costs no HMAC. Replays are not judged here: that needs the shared store, and only a
 * signature that is genuine is worth remembering.
 */
export function checkRequestSignature(
  secret: string,
  request: SignedRequest | undefined,
  opts: { windowSeconds: number; nowMs: number },
): SignatureCheck {
  const timestamp = request?.timestamp?.trim();
  const given = request?.signature?.trim();
  if (!timestamp || !given) {
    return reject(
      'signature_required',
      `This API key requires signed requests: send ${TIMESTAMP_HEADER} (Unix seconds) and ${SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of timestamp + body with the key's signing secret>`,
    );
  }
  if (!TIMESTAMP.test(timestamp)) {
    return reject('timestamp_invalid', `${TIMESTAMP_HEADER} must be whole seconds since 1970 UTC`);
  }
  const skew = Math.abs(opts.nowMs / 1000 - Number(timestamp));
  if (skew > opts.windowSeconds) {
    return reject(
      'timestamp_out_of_window',
      `${TIMESTAMP_HEADER} is more than ${opts.windowSeconds} s from the server's clock; sign with the current time`,
    );
  }
  const match = SIGNATURE.exec(given);
  if (!match) {
    return reject('signature_malformed', `${SIGNATURE_HEADER} must be sha256=<64 hex characters>`);
  }
  const presented = Buffer.from(match[1]!, 'hex');
  const expected = hmac(secret, timestamp, request!.body);
  // Both are 32 bytes by construction, which timingSafeEqual requires.
  if (!timingSafeEqual(presented, expected)) {
    return reject('signature_mismatch', 'Request signature does not match');
  }
  return { ok: true, signature: presented.toString('hex') };
}

/**
 * A 401 for a signature the server refused. `details.reason` tells a client's developer what to
 * fix; the key it was made with is kept for the audit log and never leaves the server.
 */
export class SignatureRejectedError extends AuthenticationError {
  constructor(
    readonly reason: SignatureRejection,
    message: string,
    readonly principal: Principal,
  ) {
    super(message, { reason });
  }
}

function hmac(secret: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(timestamp).update(body).digest();
}

function reject(reason: SignatureRejection, message: string): SignatureCheck {
  return { ok: false, reason, message };
}
