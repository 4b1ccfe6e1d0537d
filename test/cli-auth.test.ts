import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AuthenticationError } from '../lib/errors';
import { connectStore, type Store } from '../lib/mongo';
import { COLLECTIONS } from '../lib/store/collections';
import { createAuthService, type AuthService } from '../lib/auth/sessions';
import { UserStore } from '../lib/auth/users';
import { signRequest, SignatureRejectedError } from '../lib/auth/request-signing';
import { quietLogger, TEST_ENCRYPTION, testConfig, waitFor } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'smart-steps.js');
const PASSWORD = 'a long enough password';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('smart-steps db, user and apikey commands', () => {
  const config = testConfig();
  // The CLI finds the harness's servers the way an operator's shell would: environment overrides.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SMARTSTEPS_STORAGE__CONNECTION__URI: config.storage.connection.uri,
    SMARTSTEPS_STORAGE__CONNECTION__DATABASE: config.storage.connection.database,
    SMARTSTEPS_NATS__SERVERS: config.nats.servers.join(','),
    SMARTSTEPS_LOGGING__LEVEL: 'warn',
    // The test's keyring, so the CLI seals signing secrets the way `auth` below can open them.
    SMARTSTEPS_SECURITY__ENCRYPTION__KEYS__T1: TEST_ENCRYPTION['security.encryption.keys'].t1,
    SMARTSTEPS_SECURITY__ENCRYPTION__INDEX_KEY: TEST_ENCRYPTION['security.encryption.index_key'],
  };
  delete env.SMARTSTEPS_PASSWORD;
  delete env.SMARTSTEPS_CONFIG;

  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        env: { ...env, ...extraEnv },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.end();
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  let store: Store;
  let users: UserStore;
  let auth: AuthService;
  let nc: NatsConnection;

  beforeAll(async () => {
    store = await connectStore(config, 'cli-auth-test');
    users = new UserStore(store.db);
    // An API process's view: it must hear the CLI's revocations.
    nc = await connect({ servers: config.nats.servers });
    auth = createAuthService(config, { db: store.db, nc, log: quietLogger });
    await auth.start();
  });

  afterAll(async () => {
    await auth?.stop();
    await nc?.drain();
    await store?.db.dropDatabase();
    await store?.close();
  });

  const refused = (token: string) => async () => {
    try {
      await auth.authenticate(token);
      return false;
    } catch (err) {
      return err instanceof AuthenticationError;
    }
  };

  it('db init creates the indexes once, and says so the second time', async () => {
    const first = await cli(['db', 'init']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`database ${config.storage.connection.database}: created`);
    expect(first.stdout).toContain('users.username_unique');
    expect(first.stdout).toContain('users.email_unique');
    const indexes = await store.db.collection(COLLECTIONS.users).listIndexes().toArray();
    expect(indexes.find((i) => i.name === 'email_unique')?.unique).toBe(true);

    const second = await cli(['db', 'init']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('indexes already up to date');
  });

  it('user create takes the password from --password or SMARTSTEPS_PASSWORD and never prints it', async () => {
    const flag = await cli([
      'user',
      'create',
      '--username',
      'alice',
      '--email',
      'alice@example.com',
      '--role',
      'facilitator',
      '--password',
      PASSWORD,
    ]);
    expect(flag.stderr).toBe('');
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^created user alice \(u_[a-z0-9]{16}\), role facilitator\n$/);

    const fromEnv = await cli(
      ['user', 'create', '--username', 'bob', '--email', 'bob@example.com', '--role', 'viewer'],
      { SMARTSTEPS_PASSWORD: 'bobs password from env' },
    );
    expect(fromEnv.code).toBe(0);
    for (const run of [flag, fromEnv]) {
      expect(run.stdout + run.stderr).not.toMatch(/password from env|a long enough|scrypt/);
    }
    expect(await users.verifyCredentials('alice', PASSWORD)).toMatchObject({ role: 'facilitator' });
    expect(
      await users.verifyCredentials('BOB@example.com', 'bobs password from env'),
    ).toMatchObject({ role: 'viewer' });
  });

  it('user create refuses bad input with exit code 2 and a taken name with exit code 1', async () => {
    const noPassword = await cli([
      'user',
      'create',
      '--username',
      'carl',
      '--email',
      'carl@example.com',
      '--role',
      'viewer',
    ]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('no password given');

    const short = await cli(
      ['user', 'create', '--username', 'carl', '--email', 'carl@x', '--role', 'viewer'],
      { SMARTSTEPS_PASSWORD: 'short' },
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('password must be at least 12 characters');

    const badRole = await cli([
      'user',
      'create',
      '--username',
      'c',
      '--email',
      'c@x',
      '--role',
      'god',
    ]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of: admin, facilitator, viewer');

    const taken = await cli(
      ['user', 'create', '--username', 'ALICE', '--email', 'other@x', '--role', 'viewer'],
      { SMARTSTEPS_PASSWORD: PASSWORD },
    );
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("username 'ALICE' is already taken");

    const unknown = await cli(['user', 'promote']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown subcommand 'promote'");
  });

  it('user list shows users without hashes', async () => {
    const run = await cli(['user', 'list']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^USER ID\s+USERNAME\s+EMAIL\s+ROLE\s+CREATED$/);
    expect(run.stdout).toMatch(/alice\s+alice@example\.com\s+facilitator/);
    expect(run.stdout).not.toMatch(/scrypt|password/);

    const json = await cli(['user', 'list', '--json']);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(listed.map((u) => u.username)).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(listed.every((u) => !('password_hash' in u))).toBe(true);
  });

  it('user reset-password sets the new password and ends the login sessions in running APIs', async () => {
    const session = await auth.login('alice', PASSWORD);
    await auth.authenticate(session.token);

    const run = await cli(['user', 'reset-password', '--username', 'Alice@Example.com'], {
      SMARTSTEPS_PASSWORD: 'alices brand new password',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('password reset for alice; ended 1 login session\n');
    expect(await users.verifyCredentials('alice', PASSWORD)).toBeNull();
    expect(await users.verifyCredentials('alice', 'alices brand new password')).not.toBeNull();
    await waitFor('the API to refuse the old session', refused(session.token));

    const missing = await cli(['user', 'reset-password', '--username', 'nobody'], {
      SMARTSTEPS_PASSWORD: PASSWORD,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no user 'nobody'");
  });

  it('apikey generate prints the key once, with a warning; list never shows it', async () => {
    const run = await cli(['apikey', 'generate', '--name', 'Unity Client', '--expiry', '365']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('cannot be shown again');
    const keys = run.stdout.match(/sk_ss_[A-Za-z0-9]{32}/g) ?? [];
    expect(keys).toHaveLength(1);
    const key = keys[0]!;
    expect(run.stdout).toContain(`id       ${key.slice(0, 14)}`);
    expect(run.stdout).toContain('owner    system');
    const expires = /expires {2}(\S+)/.exec(run.stdout)![1]!;
    expect(Math.round((Date.parse(expires) - Date.now()) / 86_400_000)).toBe(365);

    expect(await auth.authenticate(key)).toMatchObject({ kind: 'api_key', name: 'Unity Client' });

    const list = await cli(['apikey', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /^ID\s+NAME\s+SCOPES\s+OWNER\s+CREATED\s+EXPIRES\s+LAST USED\s+SIGNING\s+STATUS\n/,
    );
    expect(list.stdout).toContain(key.slice(0, 14));
    expect(list.stdout).toMatch(/Unity Client .* system .* optional +active\n/);
    expect(list.stdout).not.toContain(key);
    const json = await cli(['apikey', 'list', '--json']);
    expect(json.stdout).not.toContain(key);
    expect(json.stdout).not.toContain('hash');
  });

  it('apikey generate --require-signature prints the signing secret once; lists never show it', async () => {
    const run = await cli(['apikey', 'generate', '--name', 'Signed kiosk', '--require-signature']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const key = /sk_ss_[A-Za-z0-9]{32}/.exec(run.stdout)![0];
    const secrets = run.stdout.match(/ss_sig_[A-Za-z0-9]{40}/g) ?? [];
    expect(secrets).toHaveLength(1);
    const secret = secrets[0]!;
    expect(run.stdout).toContain('signing  required');
    expect(run.stdout).toMatch(/Signing secret, also shown only now/);

    // The running API's view: unsigned refused, signed with the printed secret accepted.
    await expect(auth.authenticate(key)).rejects.toBeInstanceOf(SignatureRejectedError);
    const timestamp = Math.floor(Date.now() / 1000);
    expect(
      await auth.authenticate(key, {
        timestamp: String(timestamp),
        signature: signRequest(secret, timestamp, ''),
        body: '',
      }),
    ).toMatchObject({ kind: 'api_key', name: 'Signed kiosk' });

    const list = await cli(['apikey', 'list']);
    expect(list.stdout).toMatch(/Signed kiosk .* required +active\n/);
    const json = await cli(['apikey', 'list', '--json']);
    for (const out of [list.stdout, json.stdout]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain('ss1:');
    }
    expect(JSON.parse(json.stdout)).toContainEqual(
      expect.objectContaining({ name: 'Signed kiosk', require_signature: true }),
    );

    // Rotation hands out a new secret, once, and the new key must sign too.
    const rotated = await cli(['apikey', 'rotate', '--id', key.slice(0, 14)]);
    expect(rotated.code).toBe(0);
    const newSecret = /ss_sig_[A-Za-z0-9]{40}/.exec(rotated.stdout)![0];
    expect(newSecret).not.toBe(secret);
    expect(rotated.stdout).toContain('signing  required');
  });

  it('apikey generate makes a key for a user with chosen scopes, and checks its flags', async () => {
    const run = await cli([
      'apikey',
      'generate',
      '--name',
      'Alice tablet',
      '--user',
      'alice',
      '--scopes',
      'sessions:read,sessions:write',
      '--expiry',
      '0',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/owner {4}alice \(u_/);
    expect(run.stdout).toContain('expires  never');
    const key = /sk_ss_[A-Za-z0-9]{32}/.exec(run.stdout)![0];
    expect(await auth.authenticate(key)).toMatchObject({
      role: 'facilitator',
      scopes: ['sessions:read', 'sessions:write'],
    });

    const bogus = await cli([
      'apikey',
      'generate',
      '--name',
      'x',
      '--scopes',
      'sessions:read,root',
    ]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("unknown scope 'root'");
    const beyond = await cli([
      'apikey',
      'generate',
      '--name',
      'x',
      '--user',
      'bob',
      '--scopes',
      'admin',
    ]);
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toContain("scope 'admin' is beyond");
    const expiry = await cli(['apikey', 'generate', '--name', 'x', '--expiry', 'soon']);
    expect(expiry.code).toBe(2);
    const noName = await cli(['apikey', 'generate']);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('--name is required');
  });

  it('apikey rotate issues a new key for the same client and keeps the old one for the overlap', async () => {
    const made = await cli([
      'apikey',
      'generate',
      '--name',
      'Kiosk',
      '--scopes',
      'personas:read',
      '--allowed-ips',
      '127.0.0.1,10.0.0.0/8',
    ]);
    expect(made.stdout).toContain('from     127.0.0.1, 10.0.0.0/8');
    const oldKey = /sk_ss_[A-Za-z0-9]{32}/.exec(made.stdout)![0];

    const run = await cli(['apikey', 'rotate', '--id', oldKey.slice(0, 14), '--overlap-days', '2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^API key ${oldKey.slice(0, 14)} rotated: it keeps working until \\S+\\. Copy it now`,
      ),
    );
    const newKey = /sk_ss_[A-Za-z0-9]{32}/.exec(run.stdout)![0];
    expect(newKey).not.toBe(oldKey);
    expect(run.stdout).toContain('scopes   personas:read');
    expect(run.stdout).toContain('from     127.0.0.1, 10.0.0.0/8');
    expect(await auth.authenticate(newKey)).toMatchObject({ name: 'Kiosk' });
    expect(await auth.authenticate(oldKey)).toMatchObject({ name: 'Kiosk' });

    const bad = await cli(['apikey', 'rotate', '--id', oldKey.slice(0, 14), '--overlap-days', 'x']);
    expect(bad.code).toBe(2);
  });

  it('apikey revoke (by id or by key) stops the key in running APIs at once', async () => {
    const keyOf = async (name: string) => {
      const run = await cli(['apikey', 'generate', '--name', name]);
      return /sk_ss_[A-Za-z0-9]{32}/.exec(run.stdout)![0];
    };
    const [byId, byKey] = await Promise.all([keyOf('Revoke by id'), keyOf('Revoke by key')]);
    // Cached by the running API (cache_seconds 30): only the announcement can drop it this fast.
    await auth.authenticate(byId);
    await auth.authenticate(byKey);

    const run = await cli(['apikey', 'revoke', '--id', byId.slice(0, 14)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^revoked ${byId.slice(0, 14)} \\(Revoke by id\\) at `));
    await waitFor('the API to refuse the revoked key', refused(byId));

    const second = await cli(['apikey', 'revoke', '--id', byKey]);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain(byKey);
    await waitFor('the API to refuse the key revoked by value', refused(byKey));

    const list = await cli(['apikey', 'list']);
    expect(list.stdout).toMatch(/Revoke by id .* revoked\n/);

    const unknown = await cli(['apikey', 'revoke', '--id', 'sk_ss_00000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('API key sk_ss_00000000 not found');
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  (hasScript ? it : it.skip)(
    'asks for the password twice at a terminal, without echoing it',
    async () => {
      const secret = 'typed at the terminal';
      const command = [
        BIN,
        'user',
        'create',
        '--username',
        'tty',
        '--email',
        'tty@x',
        '--role',
        'viewer',
      ]
        .map((a) => `'${a}'`)
        .join(' ');
      // `script` gives the command a pseudo-terminal, as an operator's shell would.
      const child = spawn('script', ['-qfec', `'${process.execPath}' ${command}`, '/dev/null'], {
        cwd: ROOT,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));

      await waitFor('the first prompt', () => output.includes('Password: '), 30_000);
      child.stdin.write(`${secret}\r`);
      await waitFor('the second prompt', () => output.includes('Repeat password: '));
      child.stdin.write(`${secret}\r`);
      expect(await exited).toBe(0);
      expect(output).toContain('created user tty');
      expect(output).not.toContain(secret);
      expect(await users.verifyCredentials('tty', secret)).not.toBeNull();
    },
  );
});
