/**
 * API keys for system-to-system callers: `sk_ss_` + 32 random characters. Only a SHA-256 of the
 * key is stored (a key is 190 random bits, so a fast hash is enough: there is nothing to guess);
 * the key itself is shown once, by `generate`. The key's first 8 random characters, with the
 * prefix, are its id: shown in lists, used to revoke, and the document's `_id`, so verifying a
 * key is one primary-key read.
 *
 * A key either acts for a user (their role and ownership, narrowed to the key's scopes) or is a
 * system key (sees everything, limited to its scopes).
 *
 * Every new key also gets a signing secret (`ss_sig_…`), shown once beside the key and stored
 * encrypted, so that signing can be demanded later (`security.api_keys.signing.required`)
 * without reissuing keys. A key made with `require_signature` must sign every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Collection, Db } from 'mongodb';
import type { Config } from '../config';
import type { Keyring } from '../crypto/keyring';
import { AuthenticationError, NotFoundError, ValidationError } from '../errors';
import type { Logger } from '../log';
import { COLLECTIONS, isDuplicateKey } from '../store/collections';
import { publishRevocation } from './revocations';
import {
  ownerIdFor,
  SCOPES,
  ScopeSchema,
  scopesForRole,
  type Principal,
  type Scope,
} from './roles';
import {
  sealSigningSecret,
  SIGNING_SECRET_CHARS,
  SIGNING_SECRET_PREFIX,
  unsealSigningSecret,
} from './signing-secrets';
import { UserStore } from './users';

export const API_KEY_PREFIX = 'sk_ss_';
const KEY_CHARS = 32;
const ID_CHARS = 8;
const KEY_FORMAT = /^sk_ss_[A-Za-z0-9]{32}$/;
const ID_FORMAT = /^sk_ss_[A-Za-z0-9]{8}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DAY_MS = 86_400_000;
/** `last_used_at` is a hint for operators, not an audit log: one write a minute is plenty. */
/** An IPv4 or IPv6 address, or an IPv4 CIDR range. */
const ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-f:]+)$/i;
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MAX_CACHED_KEYS = 10_000;

export type ApiKeyStatus = 'active' | 'revoked' | 'expired';

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: Scope[];
  /** The user the key acts for; absent for a system key. */
  owner_user_id?: string;
  created_at: string;
  created_by: string;
  /** null: never expires. */
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  /** Client addresses (exact or IPv4 CIDR) the key may be used from; absent: anywhere. */
  allowed_ips?: string[];
  /** Set on a key made by rotation: the key it replaces. */
  rotated_from?: string;
  /** Every request made with the key must be signed. */
  require_signature: boolean;
  /** The key has a signing secret (keys made before signing existed, or without keys, do not). */
  has_signing_secret: boolean;
  status: ApiKeyStatus;
}

type ApiKeyDoc = Omit<
  ApiKeyInfo,
  'id' | 'status' | 'last_used_at' | 'require_signature' | 'has_signing_secret'
> & {
  _id: string;
  hash: string;
  /** Absent on keys made before signing existed. */
  require_signature?: boolean;
  /** Sealed (lib/crypto/sealed.ts), never in clear; absent when no keyring was configured. */
  signing_secret?: string;
};

/**
 * Lists and answers read everything but the hash. The sealed signing secret is read too (whether
 * a key has one is worth showing), but `toInfo` never copies it.
 */
const NO_HASH = { hash: 0 } as const;

/** A key that authenticated, with what request signing needs to know about it. */
export interface VerifiedApiKey {
  principal: Principal;
  /** The key was made with `require_signature`. */
  requireSignature: boolean;
  /** The decrypted signing secret; undefined for a key that has none. */
  signingSecret(): string | undefined;
}

/**
 * Use is recorded in a document of its own: FerretDB applies `$set` by rewriting the whole
 * document, so a usage write racing a revocation on the same document could undo it.
 */
interface ApiKeyUsageDoc {
  _id: string;
  last_used_at: string;
}

export interface GenerateApiKeyInput {
  name: string;
  /** Default: everything but `admin` (that the owner's role allows). */
  scopes?: Scope[];
  /** Days until expiry; 0 = never; default from config. */
  expiryDays?: number;
  ownerUserId?: string;
  /** The key this one replaces (rotation). */
  rotatedFrom?: string;
  /** Client addresses (exact or IPv4 CIDR) the key may be used from; default: anywhere. */
  allowedIps?: string[];
  /** Every request made with the key must be signed with its signing secret. */
  requireSignature?: boolean;
  /** Who made it, for the record (a user's e-mail, `cli:<os user>`). */
  createdBy: string;
}

export interface GeneratedApiKey {
  key: string;
  /** Shown this once, like the key; undefined when no keyring is configured. */
  signingSecret?: string;
  info: ApiKeyInfo;
}

export interface ApiKeyStoreOptions {
  defaultExpiryDays: number;
  cacheSeconds: number;
  log: Logger;
  /** To announce revocations to running processes; without it they learn within cacheSeconds. */
  nc?: NatsConnection;
  /** Seals and opens signing secrets; without it new keys get none. */
  keyring?: Keyring;
  now?: () => Date;
}

export function apiKeyOptions(
  config: Config,
): Pick<ApiKeyStoreOptions, 'defaultExpiryDays' | 'cacheSeconds'> {
  return {
    // 0 = never expires.
    defaultExpiryDays: config.security.api_keys.expiration.enabled
      ? config.security.api_keys.expiration.days
      : 0,
    cacheSeconds: config.auth.api_keys.cache_seconds,
  };
}

/** Unbiased random characters over [A-Za-z0-9]: bytes ≥ 248 (= 4 · 62) are dropped. */
export function randomKeyChars(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function keyIdOf(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + ID_CHARS);
}

function sha256(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

interface CachedKey {
  principal: Principal;
  requireSignature: boolean;
  /** Kept sealed even in memory; opened per signed request (a microsecond of AES-GCM). */
  sealedSecret: string | undefined;
  until: number;
}

export class ApiKeyStore {
  /** sha256(key) → what it authenticated as, until when. Only successes are cached. */
  private readonly cache = new Map<string, CachedKey>();
  /** Ids revoked while this process runs: never served from the cache, even mid-verify. */
  private readonly revokedIds = new Set<string>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly users: UserStore;
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly opts: ApiKeyStoreOptions,
  ) {
    this.users = new UserStore(db);
    this.now = opts.now ?? (() => new Date());
  }

  private get keys(): Collection<ApiKeyDoc> {
    return this.db.collection<ApiKeyDoc>(COLLECTIONS.apiKeys);
  }

  private get usage(): Collection<ApiKeyUsageDoc> {
    return this.db.collection<ApiKeyUsageDoc>(COLLECTIONS.apiKeyUsage);
  }

  /** Creates a key; the returned `key` and `signingSecret` are the only time anyone sees them. */
  async generate(input: GenerateApiKeyInput): Promise<GeneratedApiKey> {
    const name = input.name.trim();
    if (!name || name.length > 100) throw new ValidationError('name must be 1–100 characters');
    const expiryDays = input.expiryDays ?? this.opts.defaultExpiryDays;
    if (!Number.isInteger(expiryDays) || expiryDays < 0 || expiryDays > 36_500) {
      throw new ValidationError('expiry must be a whole number of days (0 = never)');
    }
    const ring = this.opts.keyring;
    if (input.requireSignature && !ring) {
      throw new ValidationError(
        'a key that requires signatures needs encryption keys to keep its signing secret (security.encryption)',
      );
    }
    const scopes = await this.scopesFor(input);
    const allowedIps = input.allowedIps?.map((ip) => ip.trim()).filter(Boolean);
    for (const ip of allowedIps ?? []) {
      if (!ADDRESS.test(ip)) throw new ValidationError(`not an address or IPv4 CIDR: '${ip}'`);
    }
    const now = this.now();
    const fields = {
      name,
      scopes,
      ...(input.ownerUserId ? { owner_user_id: input.ownerUserId } : {}),
      ...(allowedIps?.length ? { allowed_ips: allowedIps } : {}),
      ...(input.rotatedFrom ? { rotated_from: input.rotatedFrom } : {}),
      require_signature: input.requireSignature === true,
      created_at: now.toISOString(),
      created_by: input.createdBy,
      expires_at:
        expiryDays === 0 ? null : new Date(now.getTime() + expiryDays * DAY_MS).toISOString(),
      revoked_at: null,
    };
    // 62^8 ids make a clash very unlikely; when one happens, draw again rather than fail.
    for (let attempt = 0; ; attempt++) {
      const key = API_KEY_PREFIX + randomKeyChars(KEY_CHARS);
      const id = keyIdOf(key);
      const signingSecret = ring
        ? SIGNING_SECRET_PREFIX + randomKeyChars(SIGNING_SECRET_CHARS)
        : undefined;
      const doc: ApiKeyDoc = {
        _id: id,
        hash: sha256(key),
        ...fields,
        ...(signingSecret ? { signing_secret: sealSigningSecret(ring!, id, signingSecret) } : {}),
      };
      try {
        await this.keys.insertOne(doc);
        return {
          key,
          ...(signingSecret ? { signingSecret } : {}),
          info: toInfo(doc, undefined, now),
        };
      } catch (err) {
        if (!isDuplicateKey(err) || attempt >= 3) throw err;
      }
    }
  }

  /** The caller a key stands for, or AuthenticationError (unknown, revoked, expired, owner gone). */
  async verify(key: string): Promise<Principal> {
    return (await this.check(key)).principal;
  }

  /** As `verify`, with what is needed to check the request's signature. */
  async check(key: string): Promise<VerifiedApiKey> {
    const entry = await this.lookup(key);
    const ring = this.opts.keyring;
    const keyId = entry.principal.id;
    return {
      principal: entry.principal,
      requireSignature: entry.requireSignature,
      signingSecret: () => {
        if (entry.sealedSecret === undefined) return undefined;
        // The key has a secret this process cannot open: the server's configuration is at
        // fault, not the caller, so this is an internal error rather than a 401.
        if (!ring)
          throw new Error('API key signing secret found, but no encryption keys configured');
        return unsealSigningSecret(ring, keyId, entry.sealedSecret);
      },
    };
  }

  private async lookup(key: string): Promise<CachedKey> {
    if (!KEY_FORMAT.test(key)) throw new AuthenticationError('Invalid API key');
    const id = keyIdOf(key);
    if (this.revokedIds.has(id)) throw new AuthenticationError('API key has been revoked');
    const hash = sha256(key);
    const now = this.now().getTime();

    const cached = this.cache.get(hash);
    if (cached && cached.until > now) {
      this.touch(id, now);
      return cached;
    }
    this.cache.delete(hash);

    const doc = await this.keys.findOne({ _id: id });
    if (!doc || !sameHash(doc.hash, hash)) throw new AuthenticationError('Invalid API key');
    if (doc.revoked_at) throw new AuthenticationError('API key has been revoked');
    const expiresAt = doc.expires_at ? Date.parse(doc.expires_at) : Infinity;
    if (expiresAt <= now) throw new AuthenticationError('API key has expired');
    const entry: CachedKey = {
      principal: await this.principalFor(doc),
      requireSignature: doc.require_signature === true,
      sealedSecret: doc.signing_secret,
      until: Math.min(now + this.opts.cacheSeconds * 1000, expiresAt),
    };

    // A revocation that arrived while we were reading must win over what we read.
    if (this.opts.cacheSeconds > 0 && !this.revokedIds.has(id)) {
      if (this.cache.size >= MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(hash, entry);
    }
    this.touch(id, now);
    return entry;
  }

  /**
   * Revokes by id (`sk_ss_` + 8) or full key; idempotent. Announces it so running processes drop
   * the key at once.
   */
  async revoke(idOrKey: string): Promise<ApiKeyInfo> {
    const id = idOrKey.trim();
    let keyId: string;
    if (ID_FORMAT.test(id)) keyId = id;
    else if (KEY_FORMAT.test(id)) keyId = keyIdOf(id);
    else
      throw new ValidationError(`not an API key id (${API_KEY_PREFIX} + ${ID_CHARS} characters)`);

    const doc = await this.keys.findOne({ _id: keyId }, { projection: { hash: 1 } });
    // A full key must be the real one, so a mistyped key cannot revoke a neighbour.
    if (!doc || (keyId !== id && !sameHash(doc.hash, sha256(id)))) {
      throw new NotFoundError(`API key ${keyId} not found`);
    }
    await this.keys.updateOne(
      { _id: keyId, revoked_at: null },
      { $set: { revoked_at: this.now().toISOString() } },
    );
    this.evict(keyId);
    publishRevocation(this.opts.nc, { kind: 'api_key', id: keyId }, this.opts.log);
    const [updated, used] = await Promise.all([
      this.keys.findOne({ _id: keyId }, { projection: NO_HASH }),
      this.usage.findOne({ _id: keyId }),
    ]);
    return toInfo(updated!, used?.last_used_at, this.now());
  }

  /**
   * Replaces a key: a new one with the same name, scopes, owner, addresses and signing
   * requirement, while the old one keeps working for `overlapDays` (never longer than it would
   * have anyway), so clients can switch over without downtime. The new key and its new signing
   * secret are shown once, like any new key's.
   */
  async rotate(
    keyId: string,
    overlapDays: number,
    createdBy: string,
  ): Promise<GeneratedApiKey & { previous: ApiKeyInfo }> {
    if (!Number.isInteger(overlapDays) || overlapDays < 0 || overlapDays > 365) {
      throw new ValidationError('overlap must be a whole number of days from 0 to 365');
    }
    const old = await this.keys.findOne({ _id: keyId.trim() }, { projection: NO_HASH });
    if (!old) throw new NotFoundError(`API key ${keyId} not found`);
    const now = this.now();
    if (toInfo(old, undefined, now).status !== 'active') {
      throw new ValidationError(`API key ${old._id} is not active, so there is nothing to rotate`);
    }
    const fresh = await this.generate({
      name: old.name,
      scopes: old.scopes,
      ...(old.owner_user_id ? { ownerUserId: old.owner_user_id } : {}),
      ...(old.allowed_ips ? { allowedIps: old.allowed_ips } : {}),
      ...(old.require_signature ? { requireSignature: true } : {}),
      rotatedFrom: old._id,
      createdBy,
    });
    const overlapEnd = now.getTime() + overlapDays * DAY_MS;
    const oldEnd = old.expires_at ? Date.parse(old.expires_at) : Infinity;
    const expires_at = new Date(Math.min(overlapEnd, oldEnd)).toISOString();
    await this.keys.updateOne({ _id: old._id, revoked_at: null }, { $set: { expires_at } });
    // Other processes hold the old key in their caches for at most cacheSeconds.
    for (const [hash, entry] of this.cache) {
      if (entry.principal.id === old._id) this.cache.delete(hash);
    }
    const used = await this.usage.findOne({ _id: old._id });
    return { ...fresh, previous: toInfo({ ...old, expires_at }, used?.last_used_at, now) };
  }

  /** Newest first; never includes hashes or signing secrets. */
  async list(): Promise<ApiKeyInfo[]> {
    const docs = await this.keys
      .find({}, { projection: NO_HASH })
      .sort({ created_at: -1, _id: -1 })
      .toArray();
    const lastUsed = new Map(
      (await this.usage.find({ _id: { $in: docs.map((d) => d._id) } }).toArray()).map((u) => [
        u._id,
        u.last_used_at,
      ]),
    );
    const now = this.now();
    return docs.map((d) => toInfo(d, lastUsed.get(d._id), now));
  }

  /** Forgets a revoked key in this process (called for revocations announced on NATS). */
  evict(keyId: string): void {
    this.revokedIds.add(keyId);
    for (const [hash, entry] of this.cache) {
      if (entry.principal.id === keyId) this.cache.delete(hash);
    }
  }

  private async scopesFor(input: GenerateApiKeyInput): Promise<Scope[]> {
    let allowed: Scope[] = [...SCOPES];
    if (input.ownerUserId) {
      const owner = await this.users.get(input.ownerUserId);
      if (!owner) throw new NotFoundError(`user ${input.ownerUserId} not found`);
      allowed = scopesForRole(owner.role);
    }
    if (!input.scopes) return allowed.filter((s) => s !== 'admin');
    const requested = [...new Set(input.scopes)];
    for (const scope of requested) {
      if (!ScopeSchema.safeParse(scope).success) {
        throw new ValidationError(`unknown scope '${scope}' (known: ${SCOPES.join(', ')})`);
      }
      if (!allowed.includes(scope)) {
        throw new ValidationError(`scope '${scope}' is beyond what the key's owner may do`);
      }
    }
    if (requested.length === 0) throw new ValidationError('a key needs at least one scope');
    return requested;
  }

  private async principalFor(doc: ApiKeyDoc): Promise<Principal> {
    const ips = doc.allowed_ips?.length ? { allowed_ips: doc.allowed_ips } : {};
    if (!doc.owner_user_id) {
      return {
        kind: 'api_key',
        id: doc._id,
        name: doc.name,
        role: 'admin',
        scopes: doc.scopes,
        ...ips,
      };
    }
    const owner = await this.users.get(doc.owner_user_id);
    if (!owner) throw new AuthenticationError('API key owner no longer exists');
    // The owner's role may have shrunk since the key was made: it caps the key's scopes.
    const roleScopes = scopesForRole(owner.role);
    const ownerId = ownerIdFor(owner.role, owner.user_id);
    return {
      kind: 'api_key',
      id: doc._id,
      name: doc.name,
      role: owner.role,
      scopes: doc.scopes.filter((s) => roleScopes.includes(s)),
      ...(ownerId ? { owner_id: ownerId } : {}),
      ...ips,
    };
  }

  /** Records use off the request path; a lost write only makes `last_used_at` a little stale. */
  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(keyId, now);
    this.usage
      .updateOne(
        { _id: keyId },
        { $set: { last_used_at: new Date(now).toISOString() } },
        { upsert: true },
      )
      .catch((err: unknown) =>
        this.opts.log.warn({ err, key_id: keyId }, 'could not record API key use'),
      );
  }
}

function sameHash(storedHex: string, hex: string): boolean {
  const a = Buffer.from(storedHex, 'hex');
  const b = Buffer.from(hex, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

function toInfo(
  doc: Omit<ApiKeyDoc, 'hash'> & { hash?: string },
  lastUsedAt: string | undefined,
  now: Date,
): ApiKeyInfo {
  const status: ApiKeyStatus = doc.revoked_at
    ? 'revoked'
    : doc.expires_at && Date.parse(doc.expires_at) <= now.getTime()
      ? 'expired'
      : 'active';
  return {
    id: doc._id,
    name: doc.name,
    scopes: doc.scopes,
    ...(doc.owner_user_id ? { owner_user_id: doc.owner_user_id } : {}),
    created_at: doc.created_at,
    created_by: doc.created_by,
    expires_at: doc.expires_at ?? null,
    last_used_at: lastUsedAt ?? null,
    revoked_at: doc.revoked_at ?? null,
    ...(doc.allowed_ips?.length ? { allowed_ips: doc.allowed_ips } : {}),
    ...(doc.rotated_from ? { rotated_from: doc.rotated_from } : {}),
    require_signature: doc.require_signature === true,
    has_signing_secret: doc.signing_secret !== undefined,
    status,
  };
}
