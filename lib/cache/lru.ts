/**
 * A least-recently-used cache bounded by an estimate of the memory its values take, with a time
 * to live, and protection against the classic fill race: a read that started before an
 * invalidation must not put its (now stale) result back afterwards. Callers take a ticket before
 * reading the source and hand it to `set`; an invalidation in between voids the ticket.
 */
export interface LruOptions<V> {
  maxBytes: number;
  ttlMs: number;
  /** Bytes a value takes, roughly; JSON length × 2 (UTF-16) by default. */
  sizeOf?: (value: V) => number;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
}

export interface LruStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
  invalidations: number;
}

/**
 * How long a ticket is good for. Invalidations older than this are forgotten, so their record
 * stays small under steady traffic; a read slower than this simply is not cached.
 */
const TICKET_TTL_MS = 30_000;

export interface Ticket {
  seq: number;
  at: number;
}

export class SizedLru<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly invalidatedAt = new Map<string, Ticket>();
  private bytes = 0;
  private clock = 0;
  /** Tickets older than this were taken before a clear. */
  private clearedAt = 0;
  private readonly stats = { hits: 0, misses: 0, evictions: 0, invalidations: 0 };
  private readonly sizeOf: (value: V) => number;
  private readonly now: () => number;

  constructor(private readonly opts: LruOptions<V>) {
    this.sizeOf = opts.sizeOf ?? ((v) => JSON.stringify(v).length * 2);
    this.now = opts.now ?? Date.now;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.stats.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.now()) {
      this.remove(key, entry);
      this.stats.misses++;
      return undefined;
    }
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.stats.hits++;
    return entry.value;
  }

  /** Taken before reading the source of a value to `set` later. */
  ticket(): Ticket {
    return { seq: ++this.clock, at: this.now() };
  }

  /** Stores the value unless the key (or everything) was invalidated since `ticket`. */
  set(key: string, value: V, ticket: Ticket): boolean {
    if (ticket.seq <= this.clearedAt || ticket.at < this.now() - TICKET_TTL_MS) return false;
    if ((this.invalidatedAt.get(key)?.seq ?? 0) >= ticket.seq) return false;
    const bytes = this.sizeOf(value);
    if (bytes > this.opts.maxBytes) return false;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    this.entries.set(key, { value, bytes, expiresAt: this.now() + this.opts.ttlMs });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.opts.maxBytes) break;
      this.remove(k, e);
      this.stats.evictions++;
    }
    return true;
  }

  invalidate(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
    this.stats.invalidations++;
    const now = this.now();
    // Re-inserted so the map stays ordered by time, oldest first; what no ticket can still
    // need is dropped from the front.
    this.invalidatedAt.delete(key);
    this.invalidatedAt.set(key, { seq: ++this.clock, at: now });
    for (const [k, t] of this.invalidatedAt) {
      if (t.at >= now - TICKET_TTL_MS) break;
      this.invalidatedAt.delete(k);
    }
  }

  /** Drops everything and voids every outstanding ticket (e.g. invalidations may be lost). */
  clear(): void {
    this.entries.clear();
    this.invalidatedAt.clear();
    this.bytes = 0;
    this.clearedAt = ++this.clock;
  }

  info(): LruStats {
    return { entries: this.entries.size, bytes: this.bytes, ...this.stats };
  }

  private remove(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
