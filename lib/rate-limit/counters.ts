/**
 * Fixed-window request counters shared by every API instance. Each instance counts its own hits
 * in memory (no I/O on the request path) and broadcasts its totals over core NATS every
 * `sync_interval_ms`; a limit is checked against its own count plus the latest from its peers.
 * The limit therefore holds across instances, give or take what peers admit within one sync
 * interval — a bounded overshoot traded for never putting a store round trip on every request.
 */
import { randomBytes } from 'node:crypto';
import type { Subscription } from '@nats-io/transport-node';
import type { Bus } from '../bus';
import { LIVE_SUBJECT_ROOT } from '../bus';
import type { Rate } from './rate';

export const COUNTS_SUBJECT = `${LIVE_SUBJECT_ROOT}.ratelimit.counts`;

export interface Hit {
  allowed: boolean;
  limit: number;
  /** Hits left in this window after this one (0 when refused). */
  remaining: number;
  /** When the window ends (ms since the epoch). */
  reset_at: number;
}

interface Window {
  index: number;
  window_ms: number;
  own: number;
  peers: Map<string, number>;
  /** Own count changed since the last broadcast. */
  dirty: boolean;
}

/** What an instance broadcasts: its own count per key and window. */
interface CountsMessage {
  from: string;
  counts: [key: string, window_ms: number, index: number, own: number][];
}

export class ClusterCounters {
  readonly instance = `rl_${randomBytes(6).toString('hex')}`;
  private readonly windows = new Map<string, Window>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: Bus | undefined,
    private readonly syncIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (!this.bus) return;
    this.sub = this.bus.nc.subscribe(COUNTS_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.absorb(msg.json<CountsMessage>());
        } catch {
          // A malformed broadcast is ignored; the next one replaces it.
        }
      },
    });
    this.timer = setInterval(() => this.broadcast(), this.syncIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  /** Counts a hit against `key` unless the window is already full. */
  hit(key: string, rate: Rate): Hit {
    const w = this.window(key, rate);
    const total = this.total(w);
    const reset_at = (w.index + 1) * rate.window_ms;
    if (total >= rate.limit) return { allowed: false, limit: rate.limit, remaining: 0, reset_at };
    w.own++;
    w.dirty = true;
    return { allowed: true, limit: rate.limit, remaining: rate.limit - total - 1, reset_at };
  }

  /** Counts a hit whatever the count (e.g. a failed login), returning the new total. */
  add(key: string, rate: Rate): number {
    const w = this.window(key, rate);
    w.own++;
    w.dirty = true;
    return this.total(w);
  }

  /** The cluster-wide count of the current window, as this instance knows it. */
  count(key: string, rate: Rate): number {
    return this.total(this.window(key, rate));
  }

  private window(key: string, rate: Rate): Window {
    const index = Math.floor(this.now() / rate.window_ms);
    const id = `${key}|${rate.window_ms}`;
    let w = this.windows.get(id);
    if (!w || w.index !== index) {
      // Peers may have reported this window before this instance saw its first hit in it.
      const early = this.early.get(`${id}|${index}`);
      w = {
        index,
        window_ms: rate.window_ms,
        own: 0,
        peers: early ?? new Map<string, number>(),
        dirty: false,
      };
      this.early.delete(`${id}|${index}`);
      this.windows.set(id, w);
    }
    return w;
  }

  private total(w: Window): number {
    let sum = w.own;
    for (const n of w.peers.values()) sum += n;
    return sum;
  }

  /** Peer counts for windows this instance has not opened yet. */
  private readonly early = new Map<string, Map<string, number>>();

  private absorb(msg: CountsMessage): void {
    if (msg.from === this.instance) return;
    const current = (windowMs: number) => Math.floor(this.now() / windowMs);
    for (const [key, windowMs, index, own] of msg.counts) {
      if (index !== current(windowMs)) continue;
      const id = `${key}|${windowMs}`;
      const w = this.windows.get(id);
      if (w && w.index === index) {
        w.peers.set(msg.from, own);
        continue;
      }
      const early = this.early.get(`${id}|${index}`) ?? new Map<string, number>();
      early.set(msg.from, own);
      this.early.set(`${id}|${index}`, early);
    }
  }

  private broadcast(): void {
    const counts: CountsMessage['counts'] = [];
    const nowMs = this.now();
    for (const [id, w] of this.windows) {
      if (w.index !== Math.floor(nowMs / w.window_ms)) {
        this.windows.delete(id);
        continue;
      }
      if (!w.dirty) continue;
      w.dirty = false;
      counts.push([id.slice(0, id.lastIndexOf('|')), w.window_ms, w.index, w.own]);
    }
    for (const id of this.early.keys()) {
      const [, windowMs, index] = id.split('|').slice(-3);
      if (Number(index) !== Math.floor(nowMs / Number(windowMs))) this.early.delete(id);
    }
    if (!counts.length || !this.bus) return;
    const msg: CountsMessage = { from: this.instance, counts };
    this.bus.nc.publish(COUNTS_SUBJECT, JSON.stringify(msg));
  }
}
