/**
 * One delivery attempt: the spec's payload POSTed to the webhook's URL, signed as the spec's
 * "Request Signing" describes (`X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + body)>`
 * with the unix-seconds `X-Signature-Timestamp`), with `X-Event-Id` so receivers can drop
 * repeats. The connection goes to the address the guard approved (no second DNS answer).
 */
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Config } from '../config';
import type { WebhookPayload } from '../schemas/webhook';
import { AddressGuard, ForbiddenAddressError } from './address-guard';

export type WebhookSettings = Config['webhooks'];

/** `sha256=` + hex HMAC-SHA256 of `${timestamp}${body}` under the webhook's secret. */
export function signature(secret: string, timestamp: number | string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}${body}`).digest('hex');
}

export interface AttemptResult {
  success: boolean;
  status_code?: number;
  error?: string;
  duration_ms: number;
  started_at: string;
  completed_at: string;
}

export interface DeliveryTarget {
  url: string;
  secret: string;
}

/** Answers the receiver may send back that we read, at most; the rest is discarded. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export class Deliverer {
  readonly guard: AddressGuard;

  constructor(private readonly settings: WebhookSettings) {
    this.guard = new AddressGuard(settings.allowed_hosts);
  }

  /** Never throws: every outcome, including refusals and timeouts, is an AttemptResult. */
  async attempt(
    target: DeliveryTarget,
    eventId: string,
    payload: WebhookPayload,
  ): Promise<AttemptResult> {
    const started = Date.now();
    const done = (r: { status_code?: number; error?: string }): AttemptResult => ({
      success: r.status_code !== undefined && r.status_code >= 200 && r.status_code < 300,
      ...r,
      ...(r.error === undefined && r.status_code !== undefined && !(r.status_code < 300)
        ? { error: `receiver answered ${r.status_code}` }
        : {}),
      duration_ms: Date.now() - started,
      started_at: new Date(started).toISOString(),
      completed_at: new Date().toISOString(),
    });
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return done({ error: 'invalid URL' });
    }
    let address: { address: string; family: 4 | 6 };
    try {
      [address] = (await this.guard.resolve(url)) as [{ address: string; family: 4 | 6 }];
      if (!address) return done({ error: `${url.hostname} has no address` });
    } catch (err) {
      if (err instanceof ForbiddenAddressError) return done({ error: `refused: ${err.message}` });
      return done({ error: `cannot resolve ${url.hostname}: ${(err as Error).message}` });
    }
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(started / 1000);
    try {
      const status = await this.post(url, address, body, {
        'Content-Type': 'application/json',
        'User-Agent': this.settings.user_agent,
        'X-Event-Id': eventId,
        'X-Signature-Timestamp': String(timestamp),
        'X-Signature': signature(target.secret, timestamp, body),
      });
      return done({ status_code: status });
    } catch (err) {
      return done({ error: (err as Error).message });
    }
  }

  private post(
    url: URL,
    address: { address: string; family: 4 | 6 },
    body: string,
    headers: Record<string, string>,
  ): Promise<number> {
    // The approved address, whatever the resolver would answer now.
    const pinned: LookupFunction = (_host, options, callback) => {
      if (options.all) callback(null, [address]);
      else callback(null, address.address, address.family);
    };
    const client = url.protocol === 'https:' ? https : http;
    const timeoutMs = this.settings.request_timeout_seconds * 1000;
    return new Promise<number>((resolve, reject) => {
      const req = client.request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
          lookup: pinned,
          agent: false,
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('close', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? 0));
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('error', reject);
      req.on('close', () => clearTimeout(timer));
      req.end(body);
    });
  }
}

/**
 * The delay before attempt `attempt + 1` after `attempt` failures: doubling from the initial
 * delay up to the maximum, spread by the jitter so receivers that fail together are not retried
 * in lockstep.
 */
export function retryDelayMs(settings: WebhookSettings, attempt: number): number {
  const { initial_delay_seconds, max_delay_seconds, jitter } = settings.retry;
  const base = Math.min(max_delay_seconds, initial_delay_seconds * 2 ** Math.max(0, attempt - 1));
  const spread = 1 + jitter * (Math.random() * 2 - 1);
  return Math.max(1, Math.round(base * spread * 1000));
}
