import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { connectStore, type Store } from '../lib/mongo';
import { UserStore } from '../lib/auth/users';
import { JWT_SECRET_ENV, prepareAuth } from '../scripts/stack/auth-setup';
import { harnessState } from './helpers/harness-state';
import { testConfig } from './helpers/stack';

describe('npm start preparing authentication', () => {
  const config = testConfig({ 'auth.jwt_secret': undefined });
  let store: Store;

  beforeAll(async () => {
    store = await connectStore(config, 'dev-stack-auth-test');
  });

  afterAll(async () => {
    await store?.db.dropDatabase();
    await store?.close();
  });

  it('creates indexes, a private JWT secret and a first admin whose password only the file holds', async () => {
    const dataDir = mkdtempSync(path.join(harnessState().dir, 'auth-setup-'));
    const lines: string[] = [];
    const first = await prepareAuth(config, dataDir, (l) => lines.push(l));

    const secretsDir = path.join(dataDir, 'secrets');
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
    const secretFile = path.join(secretsDir, 'jwt-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(first.env).toEqual({ [JWT_SECRET_ENV]: secret });
    expect(first.createdIndexes).toContain('users.username_unique');

    const passwordFile = path.join(secretsDir, 'admin-password');
    expect(first.adminPasswordFile).toBe(passwordFile);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(passwordFile, 'utf8').trim();
    const admin = await new UserStore(store.db).verifyCredentials('admin', password);
    expect(admin).toMatchObject({ username: 'admin', email: 'admin@localhost', role: 'admin' });

    const adminLines = lines.filter((l) => l.includes('admin'));
    expect(adminLines).toHaveLength(1);
    expect(adminLines[0]).toContain('admin-password');
    expect(lines.join('\n')).not.toContain(password);
    expect(lines.join('\n')).not.toContain(secret);

    // The next start keeps the secret (tokens survive restarts) and leaves the users alone.
    const again: string[] = [];
    const second = await prepareAuth(config, dataDir, (l) => again.push(l));
    expect(second.env).toEqual({ [JWT_SECRET_ENV]: secret });
    expect(second.adminPasswordFile).toBeUndefined();
    expect(second.createdIndexes).toEqual([]);
    expect(again).toEqual([]);
    expect(readFileSync(passwordFile, 'utf8').trim()).toBe(password);
    expect(await new UserStore(store.db).count()).toBe(1);
  });

  it('leaves a configured JWT secret to the configuration', async () => {
    const dataDir = mkdtempSync(path.join(harnessState().dir, 'auth-setup-'));
    const configured = testConfig({
      'storage.connection.database': config.storage.connection.database,
    });
    const result = await prepareAuth(configured, dataDir, () => undefined);
    expect(result.env).toEqual({});
  });
});
