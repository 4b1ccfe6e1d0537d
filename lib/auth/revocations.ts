/**
 * Revocation without a database read per request. Each process keeps the revoked login sessions
 * in memory; a revocation is written to `auth_revocations` (for processes that start later) and
 * then announced on core NATS `ss.auth.revoked` (for the ones already running). API key
 * revocations travel on the same subject so every process drops its cached key at once.
 *
 * A revoked session only needs remembering until the last access token issued for it expires,
 * so entries carry `expires_at` = revocation time + access-token lifetime (+ clock skew) and
 * are deleted lazily after that.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Collection, Db } from 'mongodb';
import { z } from 'zod';
import type { Logger } from '../log';
import { COLLECTIONS, isDuplicateKey } from '../store/collections';
import { CLOCK_TOLERANCE_SECONDS } from './jwt';

export const REVOCATION_SUBJECT = 'ss.auth.revoked';

export const RevocationMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('session'), id: z.string().min(1), until: z.iso.datetime() }),
  z.object({ kind: z.literal('api_key'), id: z.string().min(1) }),
]);
export type RevocationMessage = z.infer<typeof RevocationMessageSchema>;

interface RevocationDoc {
  _id: string;
  revoked_at: string;
  expires_at: string;
}

/** Announces a revocation; best effort (the database stays the record), never throws. */
export function publishRevocation(
  nc: NatsConnection | undefined,
  message: RevocationMessage,
  log?: Logger,
): void {
  if (!nc || nc.isClosed()) return;
  try {
    nc.publish(REVOCATION_SUBJECT, JSON.stringify(message));
  } catch (err) {
    log?.warn({ err, kind: message.kind, id: message.id }, 'could not announce a revocation');
  }
}

export interface RevocationListOptions {
  nc?: NatsConnection;
  /** How long a revoked session stays listed: the access-token lifetime. */
  accessTokenTtlSeconds: number;
  log: Logger;
  /** Called for API key revocations announced by any process (including this one). */
  onApiKeyRevoked?: (keyId: string) => void;
  now?: () => Date;
}

export class RevocationList {
  /** Revoked login session id → when its entry may be forgotten (ms since epoch). */
  private readonly revoked = new Map<string, number>();
  private subscription?: Subscription;
  private stopped = false;
  private lastPrune = 0;
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly opts: RevocationListOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  private get collection(): Collection<RevocationDoc> {
    return this.db.collection<RevocationDoc>(COLLECTIONS.authRevocations);
  }

  /**
   * Subscribes first and loads second: a revocation made in between is then seen at least once
   * (twice is harmless), never missed.
   */
  async start(): Promise<void> {
    const { nc, log } = this.opts;
    if (nc) {
      this.subscription = nc.subscribe(REVOCATION_SUBJECT, {
        callback: (err, msg) => {
          if (err) return log.warn({ err }, 'revocation subscription failed');
          this.receive(msg.string());
        },
      });
      void this.resyncOnReconnect(nc);
      await nc.flush();
    }
    await this.load();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  has(sessionId: string): boolean {
    const until = this.revoked.get(sessionId);
    return until !== undefined && until > this.now().getTime();
  }

  /** Records, applies locally and announces the revocation of login sessions. */
  async revokeSessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const now = this.now();
    const until = new Date(
      now.getTime() + (this.opts.accessTokenTtlSeconds + 2 * CLOCK_TOLERANCE_SECONDS) * 1000,
    );
    for (const id of sessionIds) {
      try {
        await this.collection.updateOne(
          { _id: id },
          { $set: { revoked_at: now.toISOString(), expires_at: until.toISOString() } },
          { upsert: true },
        );
      } catch (err) {
        // Two processes revoking the same session at once: the other upsert already recorded it.
        if (!isDuplicateKey(err)) throw err;
      }
      this.remember(id, until.getTime());
      publishRevocation(
        this.opts.nc,
        { kind: 'session', id, until: until.toISOString() },
        this.opts.log,
      );
    }
    await this.deleteExpired();
  }

  private receive(data: string): void {
    let message: RevocationMessage;
    try {
      message = RevocationMessageSchema.parse(JSON.parse(data));
    } catch {
      this.opts.log.warn('ignored a malformed revocation message');
      return;
    }
    if (message.kind === 'session') this.remember(message.id, Date.parse(message.until));
    else this.opts.onApiKeyRevoked?.(message.id);
  }

  private async load(): Promise<void> {
    const nowIso = this.now().toISOString();
    const docs = await this.collection.find({ expires_at: { $gt: nowIso } }).toArray();
    for (const doc of docs) this.remember(doc._id, Date.parse(doc.expires_at));
    await this.deleteExpired();
  }

  /** Messages published while NATS was unreachable are lost to us; the database has them. */
  private async resyncOnReconnect(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.stopped) break;
      if (status.type !== 'reconnect') continue;
      await this.load().catch((err: unknown) =>
        this.opts.log.warn({ err }, 'could not reload revocations after reconnecting'),
      );
    }
  }

  private remember(sessionId: string, until: number): void {
    const current = this.revoked.get(sessionId) ?? 0;
    if (until > current) this.revoked.set(sessionId, until);
    const now = this.now().getTime();
    // Forgetting expired entries now and then keeps the set as small as the live revocations.
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      for (const [id, at] of this.revoked) if (at <= now) this.revoked.delete(id);
    }
  }

  /** No TTL indexes on FerretDB: old entries go whenever revocations are read or written. */
  private async deleteExpired(): Promise<void> {
    try {
      await this.collection.deleteMany({ expires_at: { $lte: this.now().toISOString() } });
    } catch (err) {
      this.opts.log.warn({ err }, 'could not delete expired revocations');
    }
  }
}
