import { createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { ConfigError, loadConfig, readPasswordFromEnv, requireJwtSecret } from '../lib/config';
import { AuthenticationError, ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { connectStore, type Store } from '../lib/mongo';
import { ensureIndexes, COLLECTIONS } from '../lib/store/collections';
import { ApiKeyStore, randomKeyChars } from '../lib/auth/api-keys';
import { AccessTokens, type AccessTokenSettings } from '../lib/auth/jwt';
import { hashPassword, needsRehash, verifyPassword } from '../lib/auth/passwords';
import { scopesForRole, SCOPES } from '../lib/auth/roles';
import { AuthService, createAuthService } from '../lib/auth/sessions';
import { UserStore } from '../lib/auth/users';
import { quietLogger, testConfig, unique, waitFor } from './helpers/stack';

const SECRET = randomBytes(48).toString('base64url');
const PASSWORD = 'correct horse battery staple';

describe('roles and scopes', () => {
  it('gives admins every scope, facilitators all but admin, viewers only the read scopes', () => {
    expect(scopesForRole('admin')).toEqual([...SCOPES]);
    expect(scopesForRole('facilitator')).toEqual(SCOPES.filter((s) => s !== 'admin'));
    expect(scopesForRole('viewer')).toEqual([
      'sessions:read',
      'clients:read',
      'personas:read',
      'webhooks:read',
    ]);
  });
});

describe('passwords', () => {
  it('hashes with scrypt in a self-describing format and verifies only the right password', async () => {
    const hash = await hashPassword(PASSWORD);
    expect(hash).toMatch(/^scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(hash).not.toContain(PASSWORD);
    await expect(verifyPassword(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifyPassword(PASSWORD + '!', hash)).resolves.toBe(false);
    expect(needsRehash(hash)).toBe(false);
    // Same password, fresh salt: a different hash.
    expect(await hashPassword(PASSWORD)).not.toBe(hash);
  });

  it('treats an unreadable or absurd hash as a mismatch rather than an error', async () => {
    for (const bad of [
      '',
      'plain-text',
      'scrypt$ln=15,r=8,p=1$!!!$???',
      'scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
      '$2b$10$abcdefghijklmnopqrstuv',
    ]) {
      await expect(verifyPassword(PASSWORD, bad)).resolves.toBe(false);
      expect(needsRehash(bad)).toBe(true);
    }
  });

  it('still verifies a hash made with older parameters, and says it should be redone', async () => {
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const old = `scrypt$ln=14,r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
    await expect(verifyPassword(PASSWORD, old)).resolves.toBe(true);
    expect(needsRehash(old)).toBe(true);
  });

  it('refuses passwords shorter than 12 or longer than 256 characters', async () => {
    await expect(hashPassword('short')).rejects.toThrow(
      new ValidationError('password must be at least 12 characters'),
    );
    await expect(hashPassword('x'.repeat(257))).rejects.toThrow(
      new ValidationError('password must be at most 256 characters'),
    );
    await expect(hashPassword('x'.repeat(256))).resolves.toMatch(/^scrypt\$/);
  });
});

describe('access tokens (JWT)', () => {
  const settings: AccessTokenSettings = {
    secret: SECRET,
    issuer: 'smart-steps',
    audience: 'smart-steps-api',
    ttlSeconds: 900,
  };
  const tokens = new AccessTokens(settings);
  const subject = { sub: 'u_alice', role: 'facilitator', sid: 'ls_1', email: 'a@x' } as const;
  const key = new TextEncoder().encode(SECRET);

  const segments = (token: string) => token.split('.') as [string, string, string];
  const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('carries the user, role, login session and the registered claims', async () => {
    const { token, expiresAt } = await tokens.sign(subject);
    const claims = await tokens.verify(token);
    expect(claims).toMatchObject({
      ...subject,
      iss: 'smart-steps',
      aud: 'smart-steps-api',
      exp: claims.iat + 900,
    });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(expiresAt.getTime()).toBe(claims.exp * 1000);
    const header = JSON.parse(Buffer.from(segments(token)[0], 'base64url').toString());
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const { token } = await tokens.sign(subject);
    const [header, payload, signature] = segments(token);
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const promoted = `${header}.${b64json({ ...claims, role: 'admin' })}.${signature}`;
    await expect(tokens.verify(promoted)).rejects.toThrow(
      new AuthenticationError('Invalid access token'),
    );
    // Flipping a single character of the payload is enough.
    const flipped = payload.slice(0, 10) + (payload[10] === 'A' ? 'B' : 'A') + payload.slice(11);
    await expect(tokens.verify(`${header}.${flipped}.${signature}`)).rejects.toBeInstanceOf(
      AuthenticationError,
    );
  });

  it('rejects an expired token, allowing 30 seconds of clock skew', async () => {
    const past = (seconds: number) =>
      new AccessTokens({ ...settings, ttlSeconds: 60, now: () => new Date(Date.now() - seconds) });
    const longExpired = await past(60_000 + 31_000).sign(subject);
    await expect(tokens.verify(longExpired.token)).rejects.toThrow(
      new AuthenticationError('Access token has expired'),
    );
    const justExpired = await past(60_000 + 10_000).sign(subject);
    await expect(tokens.verify(justExpired.token)).resolves.toMatchObject({ sub: 'u_alice' });
  });

  it('rejects unsigned tokens (alg none) and other algorithms, even with the right key', async () => {
    const { token } = await tokens.sign(subject);
    const [, payload] = segments(token);
    const unsigned = `${b64json({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    await expect(tokens.verify(unsigned)).rejects.toBeInstanceOf(AuthenticationError);

    const hs512 = await new SignJWT({ role: 'admin', sid: 'ls_1', email: 'a@x' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u_alice')
      .setJti('j')
      .setIssuedAt()
      .setExpirationTime('5m')
      .setIssuer('smart-steps')
      .setAudience('smart-steps-api')
      .sign(key);
    await expect(tokens.verify(hs512)).rejects.toBeInstanceOf(AuthenticationError);

    // Hand-made HS256 with a different secret.
    const header = b64json({ alg: 'HS256', typ: 'JWT' });
    const forged = createHmac('sha256', 'another-secret-another-secret-xx')
      .update(`${header}.${payload}`)
      .digest('base64url');
    await expect(tokens.verify(`${header}.${payload}.${forged}`)).rejects.toBeInstanceOf(
      AuthenticationError,
    );
  });

  it('rejects tokens for another issuer or audience, and garbage', async () => {
    const other = new AccessTokens({ ...settings, audience: 'someone-else' });
    const { token } = await other.sign(subject);
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(AuthenticationError);
    const foreign = new AccessTokens({ ...settings, issuer: 'evil' });
    await expect(tokens.verify((await foreign.sign(subject)).token)).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    for (const junk of ['', 'abc', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9..']) {
      await expect(tokens.verify(junk)).rejects.toBeInstanceOf(AuthenticationError);
    }
  });
});

describe('auth configuration', () => {
  it('requires a JWT secret of at least 32 characters without ever echoing it', () => {
    const config = loadConfig({ argv: [], env: {} });
    expect(() => requireJwtSecret(config)).toThrow(ConfigError);
    expect(() => requireJwtSecret(config)).toThrow(/^invalid configuration: auth\.jwt_secret: /);
    const short = 'tooshort-but-secret';
    let message = '';
    try {
      loadConfig({ argv: [], env: { SMARTSTEPS_AUTH__JWT_SECRET: short } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/auth\.jwt_secret: .*\(from SMARTSTEPS_AUTH__JWT_SECRET\)$/);
    expect(message).not.toContain(short);
    const ok = loadConfig({ argv: [], env: { SMARTSTEPS_AUTH__JWT_SECRET: SECRET } });
    expect(requireJwtSecret(ok)).toBe(SECRET);
    expect(ok.auth).toMatchObject({
      jwt_issuer: 'smart-steps',
      jwt_audience: 'smart-steps-api',
      access_token_ttl_seconds: 900,
      refresh_token_ttl_days: 14,
      api_keys: { cache_seconds: 30 },
    });
    expect(ok.security.api_keys.expiration).toEqual({ enabled: true, days: 90 });
  });

  it('reads a password for scripts from SMARTSTEPS_PASSWORD, which is not a config key', () => {
    expect(readPasswordFromEnv({ SMARTSTEPS_PASSWORD: 'from-the-env-123' })).toBe(
      'from-the-env-123',
    );
    expect(readPasswordFromEnv({})).toBeUndefined();
    expect(() => loadConfig({ argv: [], env: { SMARTSTEPS_PASSWORD: 'x' } })).not.toThrow();
  });
});

describe('with the database and NATS', () => {
  const config = testConfig({ 'auth.jwt_secret': SECRET });
  let store: Store;
  const connections: NatsConnection[] = [];
  const services: AuthService[] = [];
  let users: UserStore;

  /** An AuthService as another API process would have it: its own NATS connection. */
  const startService = async (
    opts: { db?: Store['db']; cacheSeconds?: number } = {},
  ): Promise<AuthService> => {
    const nc = await connect({ servers: config.nats.servers, name: unique('auth-test') });
    connections.push(nc);
    const auth = new AuthService({
      db: opts.db ?? store.db,
      nc,
      log: quietLogger,
      tokens: {
        secret: SECRET,
        issuer: config.auth.jwt_issuer,
        audience: config.auth.jwt_audience,
        ttlSeconds: 900,
      },
      refreshTokenTtlDays: 14,
      apiKeys: { defaultExpiryDays: 90, cacheSeconds: opts.cacheSeconds ?? 300 },
    });
    await auth.start();
    services.push(auth);
    return auth;
  };

  const newUser = async (role: 'admin' | 'facilitator' | 'viewer' = 'facilitator') => {
    const name = unique('user');
    return users.create({ username: name, email: `${name}@Example.com`, role, password: PASSWORD });
  };

  beforeAll(async () => {
    store = await connectStore(config, 'auth-test');
    await ensureIndexes(store.db);
    users = new UserStore(store.db);
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(connections.map((nc) => nc.drain()));
    await store?.db.dropDatabase();
    await store?.close();
  });

  describe('users', () => {
    it('creates a user and finds it by username or e-mail in any case, never showing the hash', async () => {
      const user = await users.create({
        username: 'Alice.Smith',
        email: 'Alice@Example.com',
        role: 'facilitator',
        password: PASSWORD,
      });
      expect(user.user_id).toMatch(/^u_[a-z0-9]{16}$/);
      expect(await users.findByLogin('alice.smith')).toEqual(user);
      expect(await users.findByLogin('ALICE@example.COM')).toEqual(user);
      expect(await users.get(user.user_id)).toEqual(user);
      expect(await users.findByLogin('nobody')).toBeNull();

      const listed = await users.list();
      expect(listed).toContainEqual(user);
      const raw = JSON.stringify(listed);
      expect(raw).not.toMatch(/password|scrypt|_lower/);
      // The stored document does hold a scrypt hash, never the password.
      const doc = await store.db
        .collection(COLLECTIONS.users)
        .findOne({ _id: user.user_id as any });
      expect(doc?.password_hash).toMatch(/^scrypt\$/);
      expect(JSON.stringify(doc)).not.toContain(PASSWORD);
    });

    it('refuses a second user with the same username or e-mail, ignoring case', async () => {
      const first = await newUser();
      await expect(
        users.create({
          username: first.username.toUpperCase(),
          email: 'other@example.com',
          role: 'viewer',
          password: PASSWORD,
        }),
      ).rejects.toThrow(ConflictError);
      await expect(
        users.create({
          username: unique('other'),
          email: first.email.toUpperCase(),
          role: 'viewer',
          password: PASSWORD,
        }),
      ).rejects.toThrow(/email .* is already registered/);
    });

    it('lets only one of two simultaneous creates of the same username through (unique index)', async () => {
      const name = unique('race');
      const results = await Promise.allSettled(
        [1, 2].map((i) =>
          users.create({
            username: name,
            email: `${name}-${i}@example.com`,
            role: 'viewer',
            password: PASSWORD,
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(failure.reason).toBeInstanceOf(ConflictError);
      expect(
        await store.db.collection(COLLECTIONS.users).countDocuments({ username_lower: name }),
      ).toBe(1);
    });

    it('validates usernames, e-mails and the password policy', async () => {
      await expect(
        users.create({ username: 'a@b', email: 'a@b', role: 'viewer', password: PASSWORD }),
      ).rejects.toThrow(ValidationError);
      await expect(
        users.create({
          username: 'bob',
          email: 'not-an-email',
          role: 'viewer',
          password: PASSWORD,
        }),
      ).rejects.toThrow(/^email: /);
      await expect(
        users.create({ username: 'bob', email: 'bob@x', role: 'viewer', password: 'short' }),
      ).rejects.toThrow('password must be at least 12 characters');
    });

    it('checks credentials by username or e-mail, and resets passwords', async () => {
      const user = await newUser('viewer');
      expect(await users.verifyCredentials(user.username, PASSWORD)).toEqual(user);
      expect(await users.verifyCredentials(user.email.toLowerCase(), PASSWORD)).toEqual(user);
      expect(await users.verifyCredentials(user.username, 'wrong password!!')).toBeNull();
      expect(await users.verifyCredentials('no-such-user', PASSWORD)).toBeNull();

      await users.resetPassword(user.user_id, 'a brand new password');
      expect(await users.verifyCredentials(user.username, PASSWORD)).toBeNull();
      expect(await users.verifyCredentials(user.username, 'a brand new password')).toMatchObject({
        user_id: user.user_id,
      });
      await expect(users.resetPassword('u_missing', 'a brand new password')).rejects.toThrow(
        NotFoundError,
      );
      expect(await users.count()).toBeGreaterThan(0);
    });
  });

  describe('login sessions', () => {
    let auth: AuthService;
    beforeAll(async () => {
      auth = await startService();
    });

    it('logs in by username or by e-mail and turns the access token into a principal', async () => {
      const user = await newUser('facilitator');
      const byName = await auth.login(user.username, PASSWORD);
      expect(byName.user).toEqual({
        user_id: user.user_id,
        username: user.username,
        email: user.email,
        role: 'facilitator',
      });
      expect(byName.refresh_token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(Date.parse(byName.expires_at) - Date.now()).toBeGreaterThan(890_000);
      expect(Date.parse(byName.refresh_expires_at) - Date.now()).toBeGreaterThan(13 * 86_400_000);

      const principal = await auth.authenticate(byName.token);
      expect(principal).toEqual({
        kind: 'user',
        id: user.user_id,
        name: user.email,
        role: 'facilitator',
        scopes: scopesForRole('facilitator'),
        owner_id: user.user_id,
        session_id: expect.stringMatching(/^ls_/),
      });

      const byEmail = await auth.login(user.email.toUpperCase(), PASSWORD);
      const second = await auth.authenticate(byEmail.token);
      expect(second.id).toBe(user.user_id);
      expect(second.session_id).not.toBe(principal.session_id);
    });

    it('gives admins and viewers no owner restriction', async () => {
      for (const role of ['admin', 'viewer'] as const) {
        const user = await newUser(role);
        const p = await auth.authenticate((await auth.login(user.username, PASSWORD)).token);
        expect(p.owner_id).toBeUndefined();
        expect(p.scopes).toEqual(scopesForRole(role));
      }
    });

    it('answers a wrong password and an unknown user with the same error', async () => {
      const user = await newUser();
      const invalid = new AuthenticationError('Invalid username or password');
      await expect(auth.login(user.username, 'not the password')).rejects.toThrow(invalid);
      await expect(auth.login('nobody-at-all', PASSWORD)).rejects.toThrow(invalid);
      await expect(auth.login('', '')).rejects.toThrow(invalid);
    });

    it('stores refresh tokens only as hashes', async () => {
      const user = await newUser();
      const pair = await auth.login(user.username, PASSWORD);
      const hash = createHash('sha256').update(pair.refresh_token).digest('hex');
      const docs = await store.db.collection(COLLECTIONS.refreshTokens).find({}).toArray();
      expect(docs.map((d) => d._id)).toContain(hash);
      expect(JSON.stringify(docs)).not.toContain(pair.refresh_token);
    });

    it('rotates refresh tokens, and a reused one ends the whole login session', async () => {
      const user = await newUser();
      const first = await auth.login(user.username, PASSWORD);
      const second = await auth.refresh(first.refresh_token);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect((await auth.authenticate(second.token)).id).toBe(user.user_id);

      // The spent token comes back: someone else has a copy. Everything in the session dies.
      await expect(auth.refresh(first.refresh_token)).rejects.toThrow(AuthenticationError);
      await expect(auth.refresh(second.refresh_token)).rejects.toThrow(AuthenticationError);
      await expect(auth.authenticate(second.token)).rejects.toThrow(AuthenticationError);
      await expect(auth.authenticate(first.token)).rejects.toThrow(AuthenticationError);

      // Other login sessions of the same user are untouched.
      const other = await auth.login(user.username, PASSWORD);
      await expect(auth.refresh(other.refresh_token)).resolves.toMatchObject({
        user: { user_id: user.user_id },
      });
    });

    it('lets only one of two simultaneous refreshes with the same token succeed', async () => {
      const user = await newUser();
      const pair = await auth.login(user.username, PASSWORD);
      const results = await Promise.allSettled([
        auth.refresh(pair.refresh_token),
        auth.refresh(pair.refresh_token),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    });

    it('refuses unknown refresh tokens', async () => {
      for (const bad of ['', 'rt_nope', 'sk_ss_x', 'x'.repeat(50)]) {
        await expect(auth.refresh(bad)).rejects.toThrow(
          new AuthenticationError('Invalid refresh token'),
        );
      }
    });

    it('logging out revokes the access token in another process at once, without it reading the database', async () => {
      const user = await newUser();
      // Process B: starts with its own connections, then loses the database entirely.
      const bStore = await connectStore(config, 'auth-test-b');
      const b = await startService({ db: bStore.db });
      await bStore.close();

      const pair = await auth.login(user.username, PASSWORD);
      const principal = await b.authenticate(pair.token);
      expect(principal.id).toBe(user.user_id);

      await auth.logout(principal.session_id!);
      await expect(auth.authenticate(pair.token)).rejects.toThrow(AuthenticationError);
      await waitFor('process B to refuse the logged-out token', async () => {
        try {
          await b.authenticate(pair.token);
          return false;
        } catch (err) {
          return err instanceof AuthenticationError;
        }
      });
      await expect(auth.refresh(pair.refresh_token)).rejects.toThrow(AuthenticationError);

      // A process started after the logout learns it from the database.
      const c = await startService();
      await expect(c.authenticate(pair.token)).rejects.toThrow('Session has been logged out');
      // Other sessions still work everywhere.
      const fresh = await auth.login(user.username, PASSWORD);
      expect((await b.authenticate(fresh.token)).id).toBe(user.user_id);
    });

    it('ends every login session of a user (after a password reset)', async () => {
      const user = await newUser();
      const one = await auth.login(user.username, PASSWORD);
      const two = await auth.login(user.email, PASSWORD);
      expect(await auth.revokeUserSessions(user.user_id, 'password_reset')).toBe(2);
      await expect(auth.authenticate(one.token)).rejects.toThrow(AuthenticationError);
      await expect(auth.authenticate(two.token)).rejects.toThrow(AuthenticationError);
      await expect(auth.refresh(two.refresh_token)).rejects.toThrow(AuthenticationError);
    });

    it('sends sk_ss_ bearer tokens to the API key store', async () => {
      const { key } = await auth.apiKeys.generate({ name: 'Unity Client', createdBy: 'test' });
      expect(await auth.authenticate(` ${key} `)).toMatchObject({ kind: 'api_key' });
      await expect(auth.authenticate('sk_ss_notakey')).rejects.toThrow('Invalid API key');
      await expect(auth.authenticate('')).rejects.toThrow(AuthenticationError);
    });

    it('is built from the config by createAuthService', async () => {
      const built = createAuthService(config, { db: store.db, log: quietLogger });
      const user = await newUser();
      const pair = await built.login(user.username, PASSWORD);
      expect((await auth.authenticate(pair.token)).id).toBe(user.user_id);
      expect(() =>
        createAuthService(loadConfig({ argv: [], env: {} }), { db: store.db, log: quietLogger }),
      ).toThrow(/auth\.jwt_secret/);
    });
  });

  describe('API keys', () => {
    let auth: AuthService;
    let keys: ApiKeyStore;
    beforeAll(async () => {
      auth = await startService();
      keys = auth.apiKeys;
    });

    it('generates sk_ss_ + 32 characters, stores only its hash, and verifies it as a system key', async () => {
      const { key, info } = await keys.generate({ name: 'Unity Client', createdBy: 'test' });
      expect(key).toMatch(/^sk_ss_[A-Za-z0-9]{32}$/);
      expect(info).toMatchObject({
        id: key.slice(0, 14),
        name: 'Unity Client',
        scopes: SCOPES.filter((s) => s !== 'admin'),
        created_by: 'test',
        last_used_at: null,
        revoked_at: null,
        status: 'active',
      });
      expect(info.owner_user_id).toBeUndefined();
      const days = (Date.parse(info.expires_at!) - Date.parse(info.created_at)) / 86_400_000;
      expect(days).toBe(90);

      const doc = await store.db.collection(COLLECTIONS.apiKeys).findOne({ _id: info.id as any });
      expect(doc?.hash).toBe(createHash('sha256').update(key).digest('hex'));
      expect(JSON.stringify(doc)).not.toContain(key);

      expect(await keys.verify(key)).toEqual({
        kind: 'api_key',
        id: info.id,
        name: 'Unity Client',
        role: 'admin',
        scopes: info.scopes,
      });
      await waitFor('last_used_at to be recorded', async () => {
        const d = await store.db
          .collection(COLLECTIONS.apiKeyUsage)
          .findOne({ _id: info.id as any });
        return d?.last_used_at;
      });
    });

    it('spreads key characters evenly over [A-Za-z0-9]', async () => {
      const sample = randomKeyChars(62_000);
      const counts = new Map<string, number>();
      for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      expect(counts.size).toBe(62);
      for (const n of counts.values()) expect(n).toBeGreaterThan(800);
    });

    it('never lists a key or its hash', async () => {
      const { key, info } = await keys.generate({ name: 'Lister', createdBy: 'test' });
      const listed = await keys.list();
      expect(listed.map((k) => k.id)).toContain(info.id);
      const raw = JSON.stringify(listed);
      expect(raw).not.toContain(key);
      expect(raw).not.toContain(createHash('sha256').update(key).digest('hex'));
      expect(listed.every((k) => !('hash' in k))).toBe(true);
    });

    it('refuses unknown and altered keys', async () => {
      const { key } = await keys.generate({ name: 'Real', createdBy: 'test' });
      const altered = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
      await expect(keys.verify(altered)).rejects.toThrow(
        new AuthenticationError('Invalid API key'),
      );
      await expect(keys.verify('sk_ss_' + 'A'.repeat(32))).rejects.toThrow('Invalid API key');
      await expect(keys.verify('sk_ss_short')).rejects.toThrow('Invalid API key');
    });

    it('refuses a key once revoked, in every process, at once', async () => {
      const other = await startService();
      const { key, info } = await keys.generate({ name: 'Revoke me', createdBy: 'test' });
      // Both processes have it cached (cache_seconds is 300 here).
      await keys.verify(key);
      await other.authenticate(key);

      const revoked = await keys.revoke(info.id);
      expect(revoked).toMatchObject({ id: info.id, status: 'revoked' });
      expect(revoked.revoked_at).not.toBeNull();
      await expect(keys.verify(key)).rejects.toThrow('API key has been revoked');
      await waitFor('the other process to drop the revoked key', async () => {
        try {
          await other.authenticate(key);
          return false;
        } catch (err) {
          return err instanceof AuthenticationError;
        }
      });
      // A process that never saw it reads the revocation from the database.
      const fresh = new ApiKeyStore(store.db, {
        defaultExpiryDays: 90,
        cacheSeconds: 30,
        log: quietLogger,
      });
      await expect(fresh.verify(key)).rejects.toThrow('API key has been revoked');
      // Revoking again changes nothing.
      expect((await keys.revoke(info.id)).revoked_at).toBe(revoked.revoked_at);
    });

    it('revokes by the full key too, but not by a key that merely shares its id', async () => {
      const { key, info } = await keys.generate({ name: 'Full key', createdBy: 'test' });
      const neighbour = info.id + 'X'.repeat(24);
      await expect(keys.revoke(neighbour)).rejects.toThrow(NotFoundError);
      await expect(keys.revoke('sk_ss_nothere1')).rejects.toThrow(NotFoundError);
      await expect(keys.revoke('garbage')).rejects.toThrow(ValidationError);
      expect((await keys.revoke(key)).status).toBe('revoked');
    });

    it('refuses an expired key, and keys made never to expire do not', async () => {
      const lastWeek = new ApiKeyStore(store.db, {
        defaultExpiryDays: 90,
        cacheSeconds: 30,
        log: quietLogger,
        now: () => new Date(Date.now() - 7 * 86_400_000),
      });
      const old = await lastWeek.generate({ name: 'Old', expiryDays: 1, createdBy: 'test' });
      await expect(keys.verify(old.key)).rejects.toThrow(
        new AuthenticationError('API key has expired'),
      );
      expect((await keys.list()).find((k) => k.id === old.info.id)?.status).toBe('expired');

      const forever = await lastWeek.generate({
        name: 'Forever',
        expiryDays: 0,
        createdBy: 'test',
      });
      expect(forever.info.expires_at).toBeNull();
      await expect(keys.verify(forever.key)).resolves.toMatchObject({ name: 'Forever' });
    });

    it("acts with its owner's role and ownership, narrowed to its scopes, until the owner is gone", async () => {
      const owner = await newUser('facilitator');
      await expect(
        keys.generate({
          name: 'Too much',
          scopes: ['admin'],
          ownerUserId: owner.user_id,
          createdBy: 't',
        }),
      ).rejects.toThrow(ValidationError);
      await expect(
        keys.generate({ name: 'Nobody', ownerUserId: 'u_missing', createdBy: 't' }),
      ).rejects.toThrow(NotFoundError);

      const { key, info } = await keys.generate({
        name: 'Facilitator app',
        scopes: ['sessions:read', 'sessions:write'],
        ownerUserId: owner.user_id,
        createdBy: owner.email,
      });
      expect(info.owner_user_id).toBe(owner.user_id);
      const uncached = new ApiKeyStore(store.db, {
        defaultExpiryDays: 90,
        cacheSeconds: 0,
        log: quietLogger,
      });
      expect(await uncached.verify(key)).toEqual({
        kind: 'api_key',
        id: info.id,
        name: 'Facilitator app',
        role: 'facilitator',
        scopes: ['sessions:read', 'sessions:write'],
        owner_id: owner.user_id,
      });

      await users.delete(owner.user_id);
      await expect(uncached.verify(key)).rejects.toThrow(
        new AuthenticationError('API key owner no longer exists'),
      );
    });

    it('checks names, scopes and expiry when generating', async () => {
      await expect(keys.generate({ name: ' ', createdBy: 't' })).rejects.toThrow(ValidationError);
      await expect(
        keys.generate({ name: 'x', scopes: ['nope' as never], createdBy: 't' }),
      ).rejects.toThrow(/unknown scope 'nope'/);
      await expect(keys.generate({ name: 'x', expiryDays: -1, createdBy: 't' })).rejects.toThrow(
        ValidationError,
      );
      await expect(keys.generate({ name: 'x', scopes: [], createdBy: 't' })).rejects.toThrow(
        ValidationError,
      );
    });
  });
});
