import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/log';
import { harnessState } from './harness-state';

/**
 * A Config pointing at the harness's servers, with a database of its own so test files never
 * see each other's documents. `overrides` are dotted keys, as in lib/config.ts.
 */
/** One signing secret per test process, so every API a test starts accepts the same tokens. */
export const TEST_JWT_SECRET = randomBytes(32).toString('base64url');

/** One keyring per test process, so every process a test starts reads what another wrote. */
export const TEST_ENCRYPTION = {
  'security.encryption.keys': { t1: randomBytes(32).toString('base64') },
  'security.encryption.index_key': randomBytes(32).toString('base64'),
};

/** The same keys for a child process, through the environment as an operator would set them. */
export function encryptionEnv(): Record<string, string> {
  const [[id, key]] = Object.entries(TEST_ENCRYPTION['security.encryption.keys']) as [
    [string, string],
  ];
  return {
    [`SMARTSTEPS_SECURITY__ENCRYPTION__KEYS__${id.toUpperCase()}`]: key,
    SMARTSTEPS_SECURITY__ENCRYPTION__INDEX_KEY: TEST_ENCRYPTION['security.encryption.index_key'],
  };
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const h = harnessState();
  return loadConfig({
    argv: [],
    env: {},
    overrides: {
      'temporal.address': h.temporalAddress,
      'nats.servers': [h.natsUrl],
      'storage.connection.uri': h.mongoUri,
      'storage.connection.database': `test_${randomBytes(4).toString('hex')}`,
      'server.port': 0,
      'logging.level': 'silent',
      'auth.jwt_secret': TEST_JWT_SECRET,
      ...TEST_ENCRYPTION,
      // Every test file's API shares one address and one NATS, so the cluster-wide limits would
      // count the whole suite as one client; the limit tests turn them back on, on their own NATS.
      'security.rate_limiting.enabled': false,
      // Many processes run at once in tests; a test that reads metrics picks a port of its own.
      'metrics.ports': { api: 0, personas: 0, sessions: 0, webhooks: 0 },
      ...overrides,
    },
  });
}

export const quietLogger: Logger = createLogger('test', 'silent');

export function workflowBundle(): { codePath: string } {
  return { codePath: harnessState().workflowBundlePath };
}

/** Waits for `check` to return a truthy value, polling; fails with `what` after the timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

/** A unique suffix for names (task queues, streams, consumers) within a test. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
