import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Db } from 'mongodb';
import { ConflictError, ValidationError } from '../../lib/errors';
import { isDuplicateKey } from '../../lib/store/collections';
import type { Principal } from '../../lib/auth/roles';
import { IDEMPOTENCY_KEY_PATTERN } from '../../lib/schemas/common';

export const IDEMPOTENCY_COLLECTION = 'idempotency_keys';
const WINDOW_MS = 24 * 60 * 60 * 1000;
/** An in-progress mark this old was left by a process that died mid-request; the key is free again. */
const ABANDONED_MS = 2 * 60 * 1000;

/** Who a key belongs to: two callers never share one. */
export const callerOf = (principal: Principal): string => `${principal.kind}:${principal.id}`;

/**
 * A key scoped to its caller and the path it was sent to. The WebSocket's `send_message` scopes
 * its key to the REST path of the same command, so a message sent over either is the same one.
 */
export const scopedRequestKey = (caller: string, path: string, key: string): string =>
  createHash('sha256').update(`${caller}\n${path}\n${key}`).digest('hex');

/**
 * The request's Idempotency-Key, scoped to its caller and path, once the middleware accepted it:
 * a handler derives the id of what it creates from it, so a retry names the same thing.
 */
export const requestKeyOf = (ctx: Context): string | undefined =>
  ctx.state.idempotencyId as string | undefined;

interface KeyRecord {
  _id: string;
  body_hash: string;
  state: 'in_progress' | 'done';
  status?: number;
  body?: unknown;
  location?: string;
  created_at: number;
}

/**
 * `Idempotency-Key` on a POST: the same key with the same body within 24 h replays the first
 * response (a client retrying after a lost answer sends nothing twice); the same key with another
 * body is a 409. Keys are scoped by caller and path (the route runs this only for a signed-in caller). Only successful answers are kept, so a
 * request that failed may be retried with its key.
 */
export function idempotency(db: Db): Middleware {
  const keys = db.collection<KeyRecord>(IDEMPOTENCY_COLLECTION);
  return async (ctx, next) => {
    const key = ctx.get('Idempotency-Key');
    if (ctx.method !== 'POST' || !key) {
      await next();
      return;
    }
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ValidationError('Idempotency-Key must be 8 to 128 letters, digits or . _ : -', {
        field: 'Idempotency-Key',
        reason: 'invalid format',
      });
    }
    const id = scopedRequestKey(callerOf(ctx.state.principal as Principal), ctx.path, key);
    const bodyHash = createHash('sha256')
      .update(String(ctx.state.rawBody ?? ''))
      .digest('hex');

    const found = await keys.findOne({ _id: id });
    const age = found ? Date.now() - found.created_at : Infinity;
    const live = found && age < (found.state === 'in_progress' ? ABANDONED_MS : WINDOW_MS);
    const existing = live ? found : undefined;
    if (existing) {
      if (existing.body_hash !== bodyHash) {
        throw new ConflictError('Idempotency-Key was already used with a different request body');
      }
      if (existing.state === 'in_progress') {
        throw new ConflictError('A request with this Idempotency-Key is still in progress');
      }
      ctx.status = existing.status!;
      ctx.body = existing.body;
      if (existing.location) ctx.set('Location', existing.location);
      ctx.set('Idempotent-Replayed', 'true');
      return;
    }
    if (found && !live) await keys.deleteOne({ _id: id, created_at: found.created_at });
    try {
      await keys.insertOne({
        _id: id,
        body_hash: bodyHash,
        state: 'in_progress',
        created_at: Date.now(),
      });
    } catch (err) {
      if (isDuplicateKey(err))
        throw new ConflictError('A request with this Idempotency-Key is still in progress');
      throw err;
    }

    // Handlers that create something derive its id from this, so a retry after an answer that
    // was lost (or a 503 whose command went through after all) names the same thing again.
    ctx.state.idempotencyId = id;
    let succeeded = false;
    try {
      await next();
      succeeded = ctx.status < 400;
    } finally {
      if (succeeded) {
        const location = ctx.response.get('Location');
        await keys.updateOne(
          { _id: id },
          {
            $set: {
              state: 'done',
              status: ctx.status,
              body: ctx.body,
              ...(location ? { location } : {}),
            },
          },
        );
      } else {
        await keys.deleteOne({ _id: id });
      }
    }
  };
}
