/**
 * Request limits as a client meets them: 429 envelopes with Retry-After and X-RateLimit-*
 * headers, one user's burst leaving others alone, limits holding across two API instances, and
 * login brute force throttled per username (then locked) and per address.
 *
 * Windows are a day long so a burst never straddles a window boundary mid-test (windows are
 * aligned to the clock, as every instance must agree on them).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { start as startApi, type ApiServer } from '../api/server';
import { UserStore } from '../lib/auth/users';
import { httpClient, startRuntime, type Runtime, type SignedIn } from './helpers/runtime';
import { quietLogger, waitFor } from './helpers/stack';
import { startOwnNats, type OwnNats } from './helpers/own-nats';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'smart-steps.js');

describe('rate limits', () => {
  let nats: OwnNats;
  let rt: Runtime;
  let second: ApiServer;

  beforeAll(async () => {
    // Its own NATS: instances share counts over it, and other test files' APIs must not count.
    nats = await startOwnNats('nats-rate-limits');
    rt = await startRuntime(
      {
        'nats.servers': [nats.url],
        'security.rate_limiting.enabled': true,
        'security.rate_limiting.sync_interval_ms': 20,
        'security.rate_limiting.default_limit': '100000/day',
        'security.rate_limiting.per_user.facilitator': '5/day',
        'security.rate_limiting.per_endpoint': {
          '/api/v1/auth/login': '1000/day',
          'POST /api/v1/auth/refresh': '3/day',
        },
        'security.rate_limiting.login.max_failures_per_account': 3,
        'security.rate_limiting.login.max_failures_per_ip': 8,
      },
      { sessionWorker: false, personaWorker: false },
    );
    second = await startApi(rt.config, quietLogger);
  });
  afterAll(async () => {
    await second?.stop();
    await rt?.stop();
    await nats?.stop();
  });

  const list = (who: SignedIn, api: { url: string } = rt.api) =>
    httpClient(api.url, who.token)('GET', '/api/v1/clients');

  it("refuses one user's burst with 429, Retry-After and the limit headers, and leaves other users alone", async () => {
    const busy = await rt.signIn('facilitator', 'busy');
    const calm = await rt.signIn('facilitator', 'calm');

    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await list(busy));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers.slice(0, 5).map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual([
      '4',
      '3',
      '2',
      '1',
      '0',
    ]);
    const refused = answers[5]!;
    expect(refused.headers.get('x-ratelimit-limit')).toBe('5');
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(refused.body).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringContaining('5/day'),
        details: { limit: '5/day', scope: 'user' },
        request_id: expect.any(String),
      },
    });

    const other = await list(calm);
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('holds a limit across API instances', async () => {
    const user = await rt.signIn('facilitator', 'roaming');
    for (let i = 0; i < 3; i++) expect((await list(user, rt.api)).status).toBe(200);
    // The second instance learns the first one's count over NATS.
    await waitFor(
      'the second instance to see three requests',
      () =>
        second.limits.counters.count(
          `user:${user.userId}`,
          rt.config.security.rate_limiting.per_user.facilitator!,
        ) === 3 || undefined,
    );
    expect((await list(user, second)).status).toBe(200);
    expect((await list(user, second)).status).toBe(200);
    const refused = await list(user, second);
    expect(refused.status).toBe(429);
    await waitFor(
      'the first instance to see five requests',
      () =>
        rt.api.limits.counters.count(
          `user:${user.userId}`,
          rt.config.security.rate_limiting.per_user.facilitator!,
        ) === 5 || undefined,
    );
    expect((await list(user, rt.api)).status).toBe(429);
  });

  it('limits a single endpoint per address', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await rt.anonymous('POST', '/api/v1/auth/refresh', { refresh_token: 'rt_not-a-token' }))
          .status,
      );
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  describe('login brute force', () => {
    const login = (username: string, password: string) =>
      rt.anonymous('POST', '/api/v1/auth/login', { username, password });

    it('locks a username after repeated failures, even for the right password, and not others', async () => {
      const target = await rt.signIn('facilitator', 'target');
      const bystander = await rt.signIn('facilitator', 'bystander');
      const username = target.email;

      const tries = [];
      for (let i = 0; i < 3; i++) tries.push((await login(username, 'wrong-password')).status);
      expect(tries).toEqual([401, 401, 401]);

      const locked = await login(username, target.password);
      expect(locked.status).toBe(429);
      expect(locked.body.error).toMatchObject({
        code: 'rate_limited',
        details: { scope: 'account' },
      });
      // Locked for the configured 15 minutes.
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
      expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
      // On the other instance too.
      expect(
        (
          await httpClient(second.url)('POST', '/api/v1/auth/login', {
            username,
            password: target.password,
          })
        ).status,
      ).toBe(429);

      expect((await login(bystander.email, bystander.password)).status).toBe(200);

      // The lock is the account's, whichever name is typed.
      const byName = await new UserStore(rt.api.connections.store.db).get(target.userId);
      expect((await login(byName!.username, target.password)).status).toBe(429);

      // An operator lifts it.
      const unlocked = spawnSync(
        process.execPath,
        [BIN, 'user', 'unlock', '--username', username],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: {
            ...process.env,
            SMARTSTEPS_STORAGE__CONNECTION__URI: rt.config.storage.connection.uri,
            SMARTSTEPS_STORAGE__CONNECTION__DATABASE: rt.config.storage.connection.database,
            SMARTSTEPS_NATS__SERVERS: nats.url,
            SMARTSTEPS_LOGGING__LEVEL: 'warn',
          },
        },
      );
      expect(unlocked.stdout).toBe(`unlocked ${byName!.username}\n`);
      expect((await login(username, target.password)).status).toBe(200);
    });

    it('treats an unknown username like a known one, so lock-outs reveal nothing', async () => {
      const tries = [];
      for (let i = 0; i < 4; i++) tries.push((await login('nobody@example.test', 'guess')).status);
      expect(tries).toEqual([401, 401, 401, 429]);
    });

    it('throttles an address that keeps failing across usernames', async () => {
      // Six failures so far from this address; two more reach its limit of eight.
      expect((await login('someone-1@example.test', 'guess')).status).toBe(401);
      expect((await login('someone-2@example.test', 'guess')).status).toBe(401);
      // Signing in a new user with the right password is refused now too, from this address.
      await expect(rt.signIn('facilitator', 'fresh')).rejects.toThrow(/rate_limited.*"scope":"ip"/);
    });
  });

  it('exempts allow-listed addresses', async () => {
    const limits = rt.config.security.rate_limiting;
    const open = await startApi(
      {
        ...rt.config,
        security: {
          ...rt.config.security,
          rate_limiting: {
            ...limits,
            ip_whitelist: ['127.0.0.0/8', '::1'],
            // Two requests a day would refuse the third, were the address not allowed.
            per_user: {
              ...limits.per_user,
              admin: { limit: 2, window_ms: 86_400_000, text: '2/day' },
            },
          },
        },
      },
      quietLogger,
    );
    try {
      const http = httpClient(open.url, rt.admin.token);
      const statuses = new Set<number>();
      for (let i = 0; i < 10; i++) {
        const res = await http('GET', '/api/v1/clients');
        statuses.add(res.status);
        expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      }
      expect([...statuses]).toEqual([200]);
    } finally {
      await open.stop();
    }
  });
});
