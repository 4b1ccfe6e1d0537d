/**
 * The REST API of a running stack as the commands that drive it (test-persona,
 * generate-test-data) use it: where it is, how to sign in, and calls that survive what a long run
 * meets — an access token expiring (refreshed once, for every concurrent caller together) and
 * rate limits (a 429 is waited out as its Retry-After says, then sent again).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readApiKeyFromEnv, readPasswordFromEnv, type Config } from '../../lib/config';
import { UsageError } from '../index';
import { promptHidden } from '../commands/support';

const REQUEST_TIMEOUT_MS = 30_000;
/**
 * A token this close to expiry is refreshed before a WebSocket is opened with it: the server
 * closes a socket whose token has expired, so a socket should outlive the session it follows
 * (or half the token's lifetime, when tokens are shorter-lived than that).
 */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** Waits longer than this are not waited out: the operator should raise the limit instead. */
const MAX_RATE_LIMIT_WAIT_MS = 5 * 60_000;
const MAX_RATE_LIMIT_RETRIES = 20;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The API could not be reached at all: nothing else will work either. */
export class UnreachableError extends Error {}

interface Tokens {
  token: string;
  refresh_token: string;
  expires_at?: string;
}

export interface RateLimitWait {
  route: string;
  waitMs: number;
  scope: string | undefined;
}

export interface ApiOptions {
  /** Told before each wait for a rate limit, e.g. to show it on a progress line. */
  onRateLimited?: (wait: RateLimitWait) => void;
}

/** `--url`, else the configured server address (a wildcard listen address means this machine). */
export function apiBase(flag: string | undefined, config: Config): string {
  let raw = flag;
  if (raw === undefined) {
    const host = ['0.0.0.0', '::', ''].includes(config.server.host)
      ? '127.0.0.1'
      : config.server.host;
    raw = `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL, got '${raw}'`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** The WebSocket endpoint beside a REST base URL. */
export function wsUrl(base: string): string {
  return `${base.replace(/^http/, 'ws')}/ws`;
}

export interface CredentialFlags {
  username?: string | undefined;
  password?: string | undefined;
  'api-key'?: string | undefined;
}

/**
 * Signs `api` in from the command line. Flags before the environment; an API key before a
 * password; the username defaults to `admin`.
 */
export async function signIn(api: Api, flags: CredentialFlags, config: Config): Promise<void> {
  const apiKey =
    flags['api-key'] ?? (flags.password === undefined ? readApiKeyFromEnv() : undefined);
  if (apiKey !== undefined) {
    api.useApiKey(apiKey);
    return;
  }
  const username = flags.username ?? 'admin';
  await api.login(username, await loginPassword(flags.password, username, config));
}

/**
 * `--password`, else SMARTSTEPS_PASSWORD, else (for `admin`) the password `npm start` wrote to
 * `<data_dir>/secrets/admin-password`, else a prompt without echo at a terminal.
 */
export async function loginPassword(
  flag: string | undefined,
  username: string,
  config: Config,
): Promise<string> {
  if (flag !== undefined) return flag;
  const fromEnv = readPasswordFromEnv();
  if (fromEnv !== undefined) return fromEnv;
  if (username === 'admin') {
    const file = devStackPasswordFile(config);
    if (file) return readFileSync(file, 'utf8').trim();
  }
  if (!process.stdin.isTTY) {
    throw new UsageError(
      'no password given: use --password, set SMARTSTEPS_PASSWORD, use --api-key, or run in a terminal to be asked',
    );
  }
  return promptHidden(`Password for ${username}: `);
}

/** The dev stack's admin password file: under the working directory or this checkout. */
function devStackPasswordFile(config: Config): string | undefined {
  const roots = [process.cwd()];
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      roots.push(dir);
      break;
    }
  }
  return roots
    .map((root) => path.resolve(root, config.dev_stack.data_dir, 'secrets', 'admin-password'))
    .find((file) => existsSync(file));
}

/** REST calls with the caller's credentials. Safe to share between concurrent callers. */
export class Api {
  private token = '';
  private refreshToken: string | undefined;
  private expiresAt = Infinity;
  private refreshMarginMs = REFRESH_MARGIN_MS;
  /** The refresh under way: a refresh token works once, so concurrent callers share one. */
  private refreshing: Promise<void> | undefined;
  /** Requests that met a 429 and were sent again. */
  rateLimitWaits = 0;
  /** Wall-clock time during which some request was waiting out a limit (overlaps count once). */
  rateLimitWaitMs = 0;
  private waitingUntil = 0;

  constructor(
    readonly base: string,
    private readonly options: ApiOptions = {},
  ) {}

  get bearer(): string {
    return this.token;
  }

  useApiKey(key: string): void {
    this.token = key;
    this.refreshToken = undefined;
    this.expiresAt = Infinity;
  }

  async login(username: string, password: string): Promise<void> {
    try {
      this.adopt(
        await this.request<Tokens>(
          'POST',
          '/api/v1/auth/login',
          { username, password },
          { auth: false },
        ),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        throw new Error(`login as '${username}' at ${this.base} failed: ${err.message}`);
      }
      throw err;
    }
  }

  /**
   * A bearer that stays valid for a while, for credentials that cannot be refreshed in flight
   * (a WebSocket is signed in once, at its upgrade).
   */
  async freshBearer(): Promise<string> {
    if (this.refreshToken && this.expiresAt - Date.now() < this.refreshMarginMs) {
      await this.refresh(this.token);
    }
    return this.token;
  }

  async request<T = unknown>(
    method: string,
    route: string,
    body?: unknown,
    opts: { auth?: boolean } = {},
  ): Promise<T> {
    const auth = opts.auth !== false;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const sentWith = this.token;
      const res = await this.send(method, route, body, auth ? sentWith : '');
      if (res.status === 401 && auth && this.refreshToken && !refreshed) {
        refreshed = true;
        await this.refresh(sentWith);
        continue;
      }
      const parsed = await parseBody(res);
      if (res.status === 429 && attempt < MAX_RATE_LIMIT_RETRIES) {
        await this.waitOut(res, parsed, method, route);
        continue;
      }
      if (!res.ok) {
        const envelope = parsed.json as { error?: { message?: string; code?: string } } | undefined;
        const message = envelope?.error?.message ?? (parsed.text.slice(0, 200) || res.statusText);
        throw new ApiError(
          res.status,
          `${method} ${route}: ${res.status} ${message}`,
          envelope?.error?.code,
        );
      }
      return parsed.json as T;
    }
  }

  /**
   * Every item of a paged list (`{ <key>: [...], pagination: { pages } }`), page by page at
   * `limit`: a list's default page holds only the first ones.
   */
  async listAll<T>(route: string, key: string, limit = 100): Promise<T[]> {
    const items: T[] = [];
    const sep = route.includes('?') ? '&' : '?';
    for (let page = 1; ; page++) {
      const res = await this.request<Record<string, unknown> & { pagination: { pages: number } }>(
        'GET',
        `${route}${sep}limit=${limit}&page=${page}`,
      );
      items.push(...(res[key] as T[]));
      if (page >= res.pagination.pages) return items;
    }
  }

  private async send(
    method: string,
    route: string,
    body: unknown,
    token: string,
  ): Promise<Response> {
    try {
      return await fetch(`${this.base}${route}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new UnreachableError(
        `cannot reach the Smart Steps API at ${this.base} (${why}); is the stack running? (npm start)`,
      );
    }
  }

  /** Refreshes the pair unless another caller already replaced `stale`. */
  private async refresh(stale: string): Promise<void> {
    if (this.token !== stale) return;
    this.refreshing ??= (async () => {
      try {
        this.adopt(
          await this.request<Tokens>(
            'POST',
            '/api/v1/auth/refresh',
            { refresh_token: this.refreshToken },
            { auth: false },
          ),
        );
      } finally {
        this.refreshing = undefined;
      }
    })();
    await this.refreshing;
  }

  private adopt(tokens: Tokens): void {
    this.token = tokens.token;
    this.refreshToken = tokens.refresh_token;
    const expires = tokens.expires_at ? Date.parse(tokens.expires_at) : NaN;
    this.expiresAt = Number.isFinite(expires) ? expires : Infinity;
    this.refreshMarginMs = Math.min(REFRESH_MARGIN_MS, (this.expiresAt - Date.now()) / 2);
  }

  /** Waits as long as Retry-After asks (a rate limit's window ends then), within reason. */
  private async waitOut(
    res: Response,
    parsed: { json: unknown },
    method: string,
    route: string,
  ): Promise<void> {
    const details = (parsed.json as { error?: { details?: { scope?: string; limit?: string } } })
      ?.error?.details;
    const waitMs = retryAfterMs(res.headers.get('retry-after'));
    if (waitMs > MAX_RATE_LIMIT_WAIT_MS) {
      throw new ApiError(
        429,
        `${method} ${route}: rate limited${details?.limit ? ` (${details.limit}, ${details.scope ?? 'limit'})` : ''} for another ${Math.ceil(waitMs / 1000)} s; raise security.rate_limiting or add this address to security.rate_limiting.ip_whitelist`,
        'rate_limited',
      );
    }
    this.rateLimitWaits++;
    const now = Date.now();
    this.rateLimitWaitMs += Math.max(0, now + waitMs - Math.max(now, this.waitingUntil));
    this.waitingUntil = Math.max(this.waitingUntil, now + waitMs);
    this.options.onRateLimited?.({ route: `${method} ${route}`, waitMs, scope: details?.scope });
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** Retry-After as seconds or an HTTP date; a missing or unreadable one waits a second. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === '') return 1_000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : 1_000;
}

async function parseBody(res: Response): Promise<{ text: string; json: unknown }> {
  const text = await res.text();
  try {
    return { text, json: text ? JSON.parse(text) : undefined };
  } catch {
    return { text, json: undefined };
  }
}
