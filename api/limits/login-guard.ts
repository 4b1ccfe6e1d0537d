/**
 * Login brute force: failures are counted per account and per client address (across API
 * instances). Past `max_failures_per_account` the account is locked for `lockout_minutes` — the
 * lock lives in a NATS KV bucket, so every instance refuses it — and past `max_failures_per_ip`
 * the address is throttled for the rest of the window. An account is its user id whichever of
 * username or e-mail is typed; a login that names no user is counted under what was typed, the
 * same way, so neither the answers nor the bucket (hashes only) reveal which accounts exist.
 */
import { createHash } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Bus } from '../../lib/bus';
import type { Config } from '../../lib/config';
import { RateLimitedError } from '../../lib/errors';
import type { ClusterCounters } from '../../lib/rate-limit/counters';
import type { Rate } from '../../lib/rate-limit/rate';
import { normaliseIp } from './addresses';

type LoginLimits = Config['security']['rate_limiting']['login'];

/** Which account a typed login names: `u:<user id>`, or `n:<login>` when it names no user. */
export type AccountOf = (login: string) => Promise<string>;

export const LOCKOUT_BUCKET = 'ss_login_lockouts';

export class LoginGuard {
  private kv: KV | undefined;
  private readonly window: Rate;

  constructor(
    private readonly limits: LoginLimits,
    private readonly counters: ClusterCounters,
    private readonly enabled: boolean,
    private readonly accountOf: AccountOf,
  ) {
    const window_ms = limits.window_minutes * 60_000;
    this.window = { limit: Number.MAX_SAFE_INTEGER, window_ms, text: '' };
  }

  async start(bus: Bus): Promise<void> {
    if (!this.enabled) return;
    // Entries expire by themselves once no lock could still be running.
    this.kv = await new Kvm(bus.nc).create(LOCKOUT_BUCKET, {
      history: 1,
      ttl: this.limits.lockout_minutes * 60_000,
    });
  }

  /** The account a typed login names; resolved once per attempt and passed to check and failed. */
  account(login: string): Promise<string> {
    return this.enabled ? this.accountOf(login) : Promise.resolve('');
  }

  /** Refuses a login attempt for a locked account or a throttled address, before any password check. */
  async check(account: string, ip: string): Promise<void> {
    if (!this.enabled) return;
    const until = await this.lockedUntil(account);
    if (until > Date.now()) {
      throw new RateLimitedError(
        'Too many failed logins for this username; it is locked for now',
        seconds(until - Date.now()),
        { scope: 'account' },
      );
    }
    if (this.counters.count(ipKey(ip), this.window) >= this.limits.max_failures_per_ip) {
      const resetAt = (Math.floor(Date.now() / this.window.window_ms) + 1) * this.window.window_ms;
      throw new RateLimitedError(
        'Too many failed logins from this address; try again later',
        seconds(resetAt - Date.now()),
        { scope: 'ip' },
      );
    }
  }

  /** Records a failed attempt; the one that reaches the limit locks the account. */
  async failed(account: string, ip: string): Promise<void> {
    if (!this.enabled) return;
    this.counters.add(ipKey(ip), this.window);
    const key = accountKey(account);
    const failures = this.counters.add(key, this.window);
    if (failures >= this.limits.max_failures_per_account && this.kv) {
      const until = Date.now() + this.limits.lockout_minutes * 60_000;
      await this.kv.put(key, JSON.stringify({ locked_until: until }));
    }
  }

  private async lockedUntil(account: string): Promise<number> {
    const entry = await this.kv?.get(accountKey(account));
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return 0;
    try {
      return entry.json<{ locked_until?: number }>().locked_until ?? 0;
    } catch {
      return 0;
    }
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
const ipKey = (ip: string) => `login-fail:ip:${normaliseIp(ip)}`;
/** KV keys allow a limited alphabet, and logins are personal data: a hash of the account. */
const accountKey = (account: string) =>
  'acct_' + createHash('sha256').update(account.trim().toLowerCase()).digest('hex').slice(0, 32);

/** Lifts a lock-out at once (`smart-steps user unlock`, a password reset). True if one was set. */
export async function unlockAccount(nc: NatsConnection, userId: string): Promise<boolean> {
  const key = accountKey(`u:${userId}`);
  try {
    const kv = await new Kvm(nc).open(LOCKOUT_BUCKET);
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') return false;
    await kv.delete(key);
    return true;
  } catch (err) {
    // No API has started with limits on yet, so nobody can be locked out.
    if (/stream not found|bucket not found/i.test((err as Error).message)) return false;
    throw err;
  }
}
