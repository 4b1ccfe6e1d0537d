/**
 * The API's in-memory cache of session reads, kept coherent across API instances by NATS: every
 * change to a session document is followed by a lifecycle event on `ss.events.session.<id>.…`
 * or, for changes without one (a status saved before the end-of-session analysis, an erasure),
 * a notice on `ss.live.cache.session.<id>`. Whatever arrives drops the entry in every instance.
 * Notices are core NATS (at most once): while the connection is down some may be lost, so a
 * disconnect clears everything, and entries also expire after `ttl_seconds` as a bound.
 *
 * Two kinds of entries:
 * - details: what `GET /sessions/{id}` answers (decrypted; kept in process memory only);
 * - owners: who may see a session (its owner and client never change), for the visibility
 *   check before every command, dropped only when the session is erased.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../lib/log';
import { SizedLru, type LruStats, type Ticket } from '../../lib/cache/lru';
import type { Config } from '../../lib/config';
import { CACHE_NOTICE_ROOT } from '../../lib/cache/notices';

export interface SessionOwner {
  owner_id?: string;
  client_id: string;
}

type Settings = Config['performance']['cache'];

export class SessionReadCache<D extends { owner_id?: string }> {
  private readonly details: SizedLru<D>;
  private readonly owners: SizedLru<SessionOwner>;
  private subs: Subscription[] = [];
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    settings: Settings,
    private readonly log: Logger,
  ) {
    const maxBytes = settings.memory_cache_size_mb * 1024 * 1024;
    const ttlMs = settings.ttl_seconds * 1000;
    this.details = new SizedLru<D>({ maxBytes, ttlMs });
    // Owner entries are tiny and fixed-size; a sixteenth of the budget holds many thousands.
    this.owners = new SizedLru<SessionOwner>({
      maxBytes: Math.max(64 * 1024, maxBytes / 16),
      ttlMs,
      sizeOf: (o) => 120 + (o.owner_id?.length ?? 0) * 2,
    });
  }

  start(): void {
    const sessionOf = (subject: string) => subject.split('.')[3];
    this.subs = [
      // Lifecycle events: the document (status, messages, notes, summary) changed.
      this.nc.subscribe('ss.events.session.*.>', {
        callback: (_err, msg) => {
          const id = sessionOf(msg.subject);
          if (id) this.details.invalidate(id);
        },
      }),
      this.nc.subscribe(`${CACHE_NOTICE_ROOT}.session.*`, {
        callback: (_err, msg) => {
          const id = msg.subject.split('.')[4];
          if (!id) return;
          this.details.invalidate(id);
          this.owners.invalidate(id);
        },
      }),
    ];
    void this.clearOnDisconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
  }

  /** Cached details, or read them with `load` and keep them (unless invalidated meanwhile). */
  async detailsOf(sessionId: string, load: () => Promise<D | null>): Promise<D | null> {
    return this.through(this.details, sessionId, load);
  }

  async ownerOf(
    sessionId: string,
    load: () => Promise<SessionOwner | null>,
  ): Promise<SessionOwner | null> {
    return this.through(this.owners, sessionId, load);
  }

  /** This instance's own change: drop it here at once, before the notice comes round. */
  forget(sessionId: string): void {
    this.details.invalidate(sessionId);
    this.owners.invalidate(sessionId);
  }

  stats(): { details: LruStats; owners: LruStats } {
    return { details: this.details.info(), owners: this.owners.info() };
  }

  private async through<V>(
    lru: SizedLru<V>,
    key: string,
    load: () => Promise<V | null>,
  ): Promise<V | null> {
    const hit = lru.get(key);
    if (hit !== undefined) return hit;
    const ticket: Ticket = lru.ticket();
    const value = await load();
    if (value !== null) lru.set(key, value, ticket);
    return value;
  }

  /** Notices sent while disconnected are lost to this instance: start again from the store. */
  private async clearOnDisconnect(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) break;
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        this.details.clear();
        this.owners.clear();
        this.log.info({ nats: status.type }, 'session read cache cleared');
      }
    }
  }
}
