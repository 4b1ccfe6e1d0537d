/**
 * Logging in, staying logged in, logging out, and telling who a bearer token belongs to.
 *
 * A login creates a login session (`ls_…`) and hands out a short-lived access token (JWT) and
 * a refresh token. Refresh tokens are opaque (`rt_…`), stored only as SHA-256 hashes in `_id`,
 * and single-use: each refresh replaces the one presented. Presenting a replaced token again
 * means two parties hold it — one of them a thief — so the whole login session is revoked.
 *
 * Checking an access token reads no database: the signature and expiry say it is ours and
 * current, and the in-memory RevocationList says its login session has not been ended.
 *
 * An API key that must sign (made with `require_signature`, or every key when
 * `security.api_keys.signing.required`) is accepted only with a valid, fresh, unused request
 * signature (lib/auth/request-signing.ts); access tokens are never signed.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Collection, Db } from 'mongodb';
import { ConfigError, type Config } from '../config';
import type { Keyring } from '../crypto/keyring';
import { AuthenticationError, ServiceUnavailableError } from '../errors';
import { randomToken } from '../ids';
import type { Logger } from '../log';
import { COLLECTIONS, isDuplicateKey } from '../store/collections';
import { apiKeyOptions, API_KEY_PREFIX, ApiKeyStore, type VerifiedApiKey } from './api-keys';
import { AccessTokens, accessTokenSettings, type AccessTokenSettings } from './jwt';
import {
  checkRequestSignature,
  SignatureRejectedError,
  type SignatureRejection,
  type SignedRequest,
} from './request-signing';
import { RevocationList } from './revocations';
import { ownerIdFor, scopesForRole, type Principal } from './roles';
import { SignatureReplays } from './signature-replays';
import { keyringIfConfigured } from './signing-secrets';
import { UserStore, type User } from './users';

const DAY_MS = 86_400_000;
const REFRESH_PREFIX = 'rt_';
const LOGIN_SESSION_PREFIX = 'ls_';
/** Expired refresh tokens are swept at most this often, on login (no TTL indexes on FerretDB). */
const SWEEP_INTERVAL_MS = 3_600_000;

export interface LoginMeta {
  ip?: string;
  user_agent?: string;
}

export interface TokenPair {
  token: string;
  expires_at: string;
  refresh_token: string;
  refresh_expires_at: string;
  user: Pick<User, 'user_id' | 'username' | 'email' | 'role'>;
}

interface LoginSessionDoc {
  _id: string;
  user_id: string;
  created_at: string;
  revoked_at?: string;
  revoked_reason?: string;
  ip?: string;
  user_agent?: string;
}

interface RefreshTokenDoc {
  /** sha256 hex of the token. */
  _id: string;
  session_id: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

/** A refresh token that has been exchanged; its `_id` (the token's hash) can be taken only once. */
interface SpentRefreshTokenDoc {
  _id: string;
  session_id: string;
  spent_at: string;
  expires_at: string;
}

export interface AuthServiceDeps {
  db: Db;
  /** The process's NATS connection (bus.nc): revocations are announced and heard on it. */
  nc?: NatsConnection;
  log: Logger;
  tokens: AccessTokenSettings;
  refreshTokenTtlDays: number;
  apiKeys: { defaultExpiryDays: number; cacheSeconds: number };
  /** Seals and opens API keys' signing secrets; without it new keys get none. */
  keyring?: Keyring;
  /** Default: only keys made with `require_signature` sign, within 300 s. */
  signing?: SigningSettings;
  now?: () => Date;
}

export interface SigningSettings {
  /** Every API key must sign, not only those made with `require_signature`. */
  required: boolean;
  windowSeconds: number;
}

/** The usual way to build one: everything from the config (which must have auth.jwt_secret). */
export function createAuthService(
  config: Config,
  deps: { db: Db; nc?: NatsConnection; log: Logger; keyring?: Keyring },
): AuthService {
  const tokens = accessTokenSettings(config);
  const { signing } = config.security.api_keys;
  const keyring = deps.keyring ?? keyringIfConfigured(config);
  if (signing.required && !keyring) {
    throw new ConfigError(
      'invalid configuration: security.api_keys.signing.required: needs encryption keys (security.encryption) to keep signing secrets',
    );
  }
  return new AuthService({
    ...deps,
    keyring,
    tokens,
    refreshTokenTtlDays: config.auth.refresh_token_ttl_days,
    apiKeys: apiKeyOptions(config),
    signing: { required: signing.required, windowSeconds: signing.window_seconds },
  });
}

export class AuthService {
  readonly users: UserStore;
  readonly apiKeys: ApiKeyStore;
  readonly revocations: RevocationList;
  private readonly tokens: AccessTokens;
  private readonly now: () => Date;
  private readonly signing: SigningSettings;
  /** Signatures already used; shared by every API instance (NATS KV). Absent without NATS. */
  private replays: SignatureReplays | undefined;
  private lastSweep = 0;

  constructor(private readonly deps: AuthServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.signing = deps.signing ?? { required: false, windowSeconds: 300 };
    this.users = new UserStore(deps.db);
    this.tokens = new AccessTokens({ ...deps.tokens, now: this.now });
    this.apiKeys = new ApiKeyStore(deps.db, {
      ...deps.apiKeys,
      nc: deps.nc,
      log: deps.log,
      keyring: deps.keyring,
      now: this.now,
    });
    this.revocations = new RevocationList(deps.db, {
      nc: deps.nc,
      accessTokenTtlSeconds: deps.tokens.ttlSeconds,
      log: deps.log,
      onApiKeyRevoked: (id) => this.apiKeys.evict(id),
      now: this.now,
    });
  }

  /** Loads the current revocations and starts listening for new ones; opens the replay store. */
  async start(): Promise<void> {
    await this.revocations.start();
    if (this.deps.nc) {
      const replays = new SignatureReplays(this.deps.nc, this.signing.windowSeconds);
      await replays.start();
      this.replays = replays;
    }
  }

  async stop(): Promise<void> {
    await this.revocations.stop();
  }

  private get sessions(): Collection<LoginSessionDoc> {
    return this.deps.db.collection<LoginSessionDoc>(COLLECTIONS.authSessions);
  }

  private get refreshTokens(): Collection<RefreshTokenDoc> {
    return this.deps.db.collection<RefreshTokenDoc>(COLLECTIONS.refreshTokens);
  }

  private get spentRefreshTokens(): Collection<SpentRefreshTokenDoc> {
    return this.deps.db.collection<SpentRefreshTokenDoc>(COLLECTIONS.spentRefreshTokens);
  }

  /** `username` may be the username or the e-mail, in any case. */
  async login(username: string, password: string, meta: LoginMeta = {}): Promise<TokenPair> {
    const user = await this.users.verifyCredentials(username, password);
    if (!user) throw new AuthenticationError('Invalid username or password');
    const sessionId = LOGIN_SESSION_PREFIX + randomToken(20);
    await this.sessions.insertOne({
      _id: sessionId,
      user_id: user.user_id,
      created_at: this.now().toISOString(),
      ...(meta.ip ? { ip: meta.ip } : {}),
      ...(meta.user_agent ? { user_agent: meta.user_agent.slice(0, 256) } : {}),
    });
    this.sweepExpiredRefreshTokens();
    return this.issue(user, sessionId);
  }

  /** Exchanges a refresh token for a new pair; the presented token is spent. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const invalid = () => new AuthenticationError('Invalid refresh token');
    if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX)) {
      throw invalid();
    }
    const hash = sha256(refreshToken);
    const stored = await this.refreshTokens.findOne({ _id: hash });
    if (!stored) throw invalid();
    if (Date.parse(stored.expires_at) <= this.now().getTime()) {
      throw new AuthenticationError('Refresh token has expired');
    }
    const session = await this.sessions.findOne({ _id: stored.session_id });
    if (!session || session.revoked_at) throw invalid();

    // The single-use check is an insert keyed by the token's hash: a duplicate `_id` is refused
    // atomically everywhere, whereas a conditional update is not atomic on FerretDB (two
    // simultaneous updateOne({ used_at: { $exists: false } }) both succeed there).
    const now = this.now().toISOString();
    try {
      await this.spentRefreshTokens.insertOne({
        _id: hash,
        session_id: stored.session_id,
        spent_at: now,
        expires_at: stored.expires_at,
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Spent before: two parties hold this token, one of them not its owner.
      await this.revokeSession(stored.session_id, 'refresh_token_reuse');
      throw invalid();
    }
    // Read afresh, so a role change or a deleted user takes effect at the next refresh.
    const user = await this.users.get(stored.user_id);
    if (!user) {
      await this.revokeSession(stored.session_id, 'user_deleted');
      throw invalid();
    }
    // Nothing else is written to the session document here: FerretDB rewrites whole documents
    // on `$set`, so a write racing a logout could undo its `revoked_at`.
    return this.issue(user, session._id);
  }

  /** Ends a login session: its refresh tokens stop working and its access tokens are refused. */
  async logout(sessionId: string): Promise<void> {
    await this.revokeSession(sessionId, 'logout');
  }

  /** Ends every login session of a user (after a password reset, say). Returns how many. */
  async revokeUserSessions(userId: string, reason = 'revoked'): Promise<number> {
    return revokeUserSessions(this.deps.db, this.revocations, userId, reason, this.now);
  }

  /**
   * The caller behind an `Authorization: Bearer …` value: an API key or an access token. An API
   * key that must sign is refused unless `request` carries a valid signature used nowhere before;
   * without `request` (a credential sent in a frame or a query string) such a key is refused.
   */
  async authenticate(bearerToken: string, request?: SignedRequest): Promise<Principal> {
    const token = bearerToken.trim();
    if (!token) throw new AuthenticationError('Missing credentials');
    if (!token.startsWith(API_KEY_PREFIX)) return this.fromAccessToken(token);
    const key = await this.apiKeys.check(token);
    await this.checkSignature(key, request);
    return key.principal;
  }

  /**
   * Credentials accepted earlier, checked again (a WebSocket's, at each heartbeat): still valid,
   * not revoked, not expired. The signature was checked when they were presented; it cannot be
   * presented twice, so it is not asked for again.
   */
  async stillValid(bearerToken: string): Promise<Principal> {
    const token = bearerToken.trim();
    if (!token) throw new AuthenticationError('Missing credentials');
    if (token.startsWith(API_KEY_PREFIX)) return this.apiKeys.verify(token);
    return this.fromAccessToken(token);
  }

  private async checkSignature(key: VerifiedApiKey, request: SignedRequest | undefined) {
    if (!key.requireSignature && !this.signing.required) return;
    const refuse = (reason: SignatureRejection, message: string) =>
      new SignatureRejectedError(reason, message, key.principal);
    const secret = key.signingSecret();
    if (!secret) {
      throw refuse(
        'no_signing_secret',
        'This API key must sign its requests but has no signing secret (it predates request signing): rotate it to get one',
      );
    }
    const checked = checkRequestSignature(secret, request, {
      windowSeconds: this.signing.windowSeconds,
      nowMs: this.now().getTime(),
    });
    if (!checked.ok) throw refuse(checked.reason, checked.message);
    // Without the shared store a replay cannot be ruled out, so the request is not let through.
    let first: boolean;
    try {
      if (!this.replays) throw new Error('no replay store (no NATS connection)');
      first = await this.replays.firstUse(key.principal.id, checked.signature);
    } catch (err) {
      this.deps.log.warn({ err }, 'request signature replay check failed');
      throw new ServiceUnavailableError('Request signatures cannot be checked right now; retry');
    }
    if (!first) {
      throw refuse(
        'signature_replayed',
        'This request signature was used before: sign every request afresh, with the current time',
      );
    }
  }

  private async fromAccessToken(token: string): Promise<Principal> {
    const claims = await this.tokens.verify(token);
    if (this.revocations.has(claims.sid)) {
      throw new AuthenticationError('Session has been logged out');
    }
    const ownerId = ownerIdFor(claims.role, claims.sub);
    return {
      kind: 'user',
      id: claims.sub,
      name: claims.email,
      role: claims.role,
      scopes: scopesForRole(claims.role),
      session_id: claims.sid,
      ...(ownerId ? { owner_id: ownerId } : {}),
    };
  }

  private async revokeSession(sessionId: string, reason: string): Promise<void> {
    await markSessionsRevoked(this.deps.db, [sessionId], reason, this.now);
    await this.revocations.revokeSessions([sessionId]);
  }

  private async issue(user: User, sessionId: string): Promise<TokenPair> {
    const now = this.now();
    const refreshToken = REFRESH_PREFIX + randomBytes(32).toString('base64url');
    const refreshExpiresAt = new Date(now.getTime() + this.deps.refreshTokenTtlDays * DAY_MS);
    await this.refreshTokens.insertOne({
      _id: sha256(refreshToken),
      session_id: sessionId,
      user_id: user.user_id,
      created_at: now.toISOString(),
      expires_at: refreshExpiresAt.toISOString(),
    });
    const { token, expiresAt } = await this.tokens.sign({
      sub: user.user_id,
      role: user.role,
      sid: sessionId,
      email: user.email,
    });
    return {
      token,
      expires_at: expiresAt.toISOString(),
      refresh_token: refreshToken,
      refresh_expires_at: refreshExpiresAt.toISOString(),
      user: { user_id: user.user_id, username: user.username, email: user.email, role: user.role },
    };
  }

  private sweepExpiredRefreshTokens(): void {
    const now = this.now();
    if (now.getTime() - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now.getTime();
    // An expired token is refused before its spent marker is consulted, so both can go.
    const expired = { expires_at: { $lte: now.toISOString() } };
    Promise.all([
      this.refreshTokens.deleteMany(expired),
      this.spentRefreshTokens.deleteMany(expired),
    ]).catch((err: unknown) =>
      this.deps.log.warn({ err }, 'could not delete expired refresh tokens'),
    );
  }
}

/**
 * Ends every live login session of a user. Needs no JWT secret, so the CLI can call it after a
 * password reset with a RevocationList that was never started.
 */
export async function revokeUserSessions(
  db: Db,
  revocations: RevocationList,
  userId: string,
  reason: string,
  now: () => Date = () => new Date(),
): Promise<number> {
  const live = await db
    .collection<LoginSessionDoc>(COLLECTIONS.authSessions)
    .find({ user_id: userId, revoked_at: { $exists: false } }, { projection: { _id: 1 } })
    .toArray();
  const ids = live.map((s) => s._id);
  await markSessionsRevoked(db, ids, reason, now);
  await revocations.revokeSessions(ids);
  return ids.length;
}

async function markSessionsRevoked(
  db: Db,
  sessionIds: string[],
  reason: string,
  now: () => Date,
): Promise<void> {
  if (sessionIds.length === 0) return;
  await db
    .collection<LoginSessionDoc>(COLLECTIONS.authSessions)
    .updateMany(
      { _id: { $in: sessionIds }, revoked_at: { $exists: false } },
      { $set: { revoked_at: now().toISOString(), revoked_reason: reason } },
    );
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
