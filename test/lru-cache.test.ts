/**
 * The bounded LRU behind the API's read cache: it never holds more than its memory budget,
 * evicts the least recently used first, expires entries, and never stores a value read before
 * an invalidation of its key (the fill race that would otherwise bring back stale data).
 */
import { SizedLru } from '../lib/cache/lru';

describe('SizedLru', () => {
  let now = 0;
  const lru = (maxBytes: number, ttlMs = 60_000) =>
    new SizedLru<string>({ maxBytes, ttlMs, sizeOf: (v) => v.length, now: () => now });

  it('keeps within its byte budget, evicting the least recently used', () => {
    const cache = lru(10);
    cache.set('a', 'aaaa', cache.ticket());
    cache.set('b', 'bbbb', cache.ticket());
    expect(cache.get('a')).toBe('aaaa'); // a is now the most recently used
    cache.set('c', 'cccc', cache.ticket());
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('aaaa');
    expect(cache.get('c')).toBe('cccc');
    expect(cache.info().bytes).toBeLessThanOrEqual(10);
    expect(cache.set('big', 'x'.repeat(11), cache.ticket())).toBe(false);
  });

  it('expires entries after the TTL', () => {
    const cache = lru(100, 1000);
    cache.set('a', 'v', cache.ticket());
    now += 999;
    expect(cache.get('a')).toBe('v');
    now += 2;
    expect(cache.get('a')).toBeUndefined();
  });

  it('refuses a value read before its key was invalidated, or before a clear', () => {
    const cache = lru(100);
    const early = cache.ticket();
    cache.invalidate('a');
    expect(cache.set('a', 'stale', early)).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('b', 'other key', early)).toBe(true);
    const beforeClear = cache.ticket();
    cache.clear();
    expect(cache.set('c', 'stale', beforeClear)).toBe(false);
    expect(cache.set('a', 'fresh', cache.ticket())).toBe(true);
    expect(cache.get('a')).toBe('fresh');
  });

  it('forgets old invalidations, so steady traffic does not grow it', () => {
    const cache = lru(100);
    for (let i = 0; i < 50_000; i++) {
      cache.invalidate(`k${i % 1000}`);
      now += 5;
    }
    // Only the last 30 s of invalidations are remembered, one per key: never more than the keys.
    const remembered = (cache as unknown as { invalidatedAt: Map<string, unknown> }).invalidatedAt;
    expect(remembered.size).toBeLessThanOrEqual(1000);
  });
});
