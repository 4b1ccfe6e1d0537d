/**
 * What `npm start` does before the apps start so that a fresh checkout can log in: collections,
 * indexes and the schema version (`db init`), a JWT secret kept in `<data_dir>/secrets/jwt-secret`, and — on an empty database
 * — a first admin user whose random password is written beside it; and the encryption key file
 * (`<data_dir>/secrets/encryption-keys.json`) every process finds by itself. Secrets go to files readable
 * only by the owner and never to the terminal.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { connectStore } from '../../lib/mongo';
import { waitForDependency } from '../../lib/retry';
import { initSchema } from '../../lib/store/schema';
import { UserStore } from '../../lib/auth/users';
import { addKeyVersion, defaultKeyFile } from '../../lib/crypto/keyring';

export const JWT_SECRET_ENV = 'SMARTSTEPS_AUTH__JWT_SECRET';

export interface AuthSetup {
  /** Environment for the API process: the JWT secret when it came from the secrets folder. */
  env: Record<string, string>;
  createdIndexes: string[];
  /** Where the first admin's password was written, when this run created the admin. */
  adminPasswordFile?: string;
}

export async function prepareAuth(
  config: Config,
  dataDir: string,
  say: (line: string) => void,
): Promise<AuthSetup> {
  const secretsDir = path.join(dataDir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  chmodSync(secretsDir, 0o700);

  // A configured secret wins; otherwise the stack keeps its own, stable across restarts so
  // tokens issued before a restart stay valid.
  const env: Record<string, string> = {};
  if (!config.auth.jwt_secret) env[JWT_SECRET_ENV] = readOrCreateJwtSecret(secretsDir);
  const enc = config.security.encryption;
  if (!enc.key_file && Object.keys(enc.keys).length === 0 && !existsSync(defaultKeyFile(config))) {
    addKeyVersion(defaultKeyFile(config));
    say(
      `created encryption key file ${defaultKeyFile(config)} (back it up: data is unreadable without it)`,
    );
  }

  const store = await waitForDependency(
    { warn: say },
    'mongodb',
    async () => {
      const s = await connectStore(config, 'smart-steps-stack');
      await s.db.command({ ping: 1 });
      return s;
    },
    60_000,
  );
  try {
    const { indexes: createdIndexes, status } = await initSchema(store.db);
    if (createdIndexes.length > 0) say(`database: created ${createdIndexes.length} indexes`);
    if (status.pending.length > 0) {
      say(
        `database: schema version ${status.version} of ${status.latest}; run \`smart-steps db migrate\``,
      );
    }
    const users = new UserStore(store.db);
    if ((await users.count()) > 0) return { env, createdIndexes };

    const passwordFile = path.join(secretsDir, 'admin-password');
    const password = randomBytes(18).toString('base64url');
    // Written before the user exists: a crash in between leaves a stale file, never an admin
    // whose password nobody has.
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
    chmodSync(passwordFile, 0o600);
    await users.create({ username: 'admin', email: 'admin@localhost', role: 'admin', password });
    say(
      `created user 'admin' (role admin); its password is in ${path.relative(process.cwd(), passwordFile) || passwordFile}`,
    );
    return { env, createdIndexes, adminPasswordFile: passwordFile };
  } finally {
    await store.close();
  }
}

function readOrCreateJwtSecret(secretsDir: string): string {
  const file = path.join(secretsDir, 'jwt-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
    throw new Error(`${file} holds fewer than 32 characters: delete it to have a new one made`);
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}
