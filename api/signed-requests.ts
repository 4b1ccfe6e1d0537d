/**
 * The edge's side of request signing: what a REST request or a WebSocket upgrade offers to be
 * checked, and the record left when a signature is refused. The checks themselves are the
 * AuthService's (lib/auth/sessions.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { auditActor, type AuditLog } from '../lib/audit';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type SignatureRejectedError,
  type SignedRequest,
} from '../lib/auth/request-signing';
import type { Logger } from '../lib/log';

/** The signature headers and the body exactly as received ('' when there is none). */
export function signedRequestOf(
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
): SignedRequest {
  return {
    timestamp: single(headers[TIMESTAMP_HEADER.toLowerCase()]),
    signature: single(headers[SIGNATURE_HEADER.toLowerCase()]),
    body: body ?? '',
  };
}

/** A repeated header is not a signature: refused as missing rather than guessed at. */
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A refused signature is on record under the key that made the request (the reason goes to the
 * log, the signature itself nowhere): a run of them is someone holding a key without its secret,
 * or replaying captured traffic.
 */
export async function recordSignatureRejection(
  audit: AuditLog,
  log: Logger,
  err: SignatureRejectedError,
  where: { ip: string; requestId?: string },
): Promise<void> {
  log.warn(
    { key_id: err.principal.id, reason: err.reason, ip: where.ip, request_id: where.requestId },
    'request signature refused',
  );
  await audit.record({
    ...auditActor(err.principal),
    action: 'auth.signature',
    resource_type: 'api_key',
    resource_id: err.principal.id,
    outcome: 'failed',
    ip: where.ip,
    ...(where.requestId ? { request_id: where.requestId } : {}),
  });
}
