/**
 * What the benchmarks share: a throw-away stack, the app processes as children (so each server
 * under test is its own Node process, as in production), and an admin signed in over HTTP.
 * Loopback only; every child and the stack are stopped by `stop()`.
 */
import { appProcessEnv } from '../scripts/stack/app-env';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import { loadConfig, type Config } from '../lib/config';
import { UserStore } from '../lib/auth/users';
import { ensureIndexes } from '../lib/store/collections';
import { startEphemeralStack, type EphemeralStack } from '../scripts/stack/ephemeral';
import { freePort } from '../scripts/stack/ports';
import type { ProcessRef } from './cpu';

export const ROOT = path.resolve(__dirname, '..');
export const BENCH_DATABASE = 'bench';

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** The p-th percentile of an ascending list (nearest rank); NaN when empty. */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Latency percentiles of a list of samples (ms), nearest rank. */
export interface Latency {
  n: number;
  p50: number;
  p95: number;
  p99: number;
}

export function latency(xs: number[]): Latency {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) };
}

export interface BenchStack {
  stack: EphemeralStack;
  /**
   * The environment every app child gets: the stack, the bench database, a fresh JWT secret and
   * encryption keys of the run's own.
   */
  env: Record<string, string | undefined>;
  /** The same settings as a Config, for clients the bench makes itself (Temporal's needs the keys). */
  config: Config;
  apiPort: number;
  /** `http://127.0.0.1:<port>/api/v1` */
  base: string;
  /**
   * Runs a TypeScript file as a child Node process and resolves once its output contains
   * `ready`. `profile`: folder for a V8 CPU profile of that child.
   */
  startChild(
    file: string,
    ready: string,
    opts?: { env?: Record<string, string>; profile?: string; args?: string[] },
  ): Promise<ChildProcess>;
  /** The stack's servers and the app children started so far, for CPU accounting (bench/cpu.ts). */
  processes(): ProcessRef[];
  stop(): Promise<void>;
}

export async function startBenchStack(opts: { tokenTtlSeconds: number }): Promise<BenchStack> {
  const baseConfig = loadConfig({ argv: [] });
  log('starting a throw-away stack');
  const stack = await startEphemeralStack({
    binCache: baseConfig.dev_stack.bin_cache,
    progress: log,
  });
  const children: ChildProcess[] = [];
  const childNames = new Map<ChildProcess, string>();
  // Every child's output is kept, so an error a benchmark saw (a 500, a crash) can be traced to
  // its cause after the throw-away stack is gone.
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'smartsteps-bench-logs-'));
  log(`app logs in ${logDir}`);
  const apiPort = await freePort();
  const env = {
    ...process.env,
    ...stack.env,
    SMARTSTEPS_SERVER__HOST: '127.0.0.1',
    SMARTSTEPS_SERVER__PORT: String(apiPort),
    SMARTSTEPS_STORAGE__CONNECTION__DATABASE: BENCH_DATABASE,
    SMARTSTEPS_LOGGING__LEVEL: 'warn',
    // A secret of this run only: tokens from anywhere else are worthless here.
    SMARTSTEPS_AUTH__JWT_SECRET: randomBytes(48).toString('base64url'),
    // Encryption at rest is on, as in production, with keys of this run only.
    SMARTSTEPS_SECURITY__ENCRYPTION__KEYS__BENCH: randomBytes(32).toString('base64'),
    SMARTSTEPS_SECURITY__ENCRYPTION__INDEX_KEY: randomBytes(32).toString('base64'),
    // The load comes from one address and one user: limits high enough never to refuse it, but
    // still counted, so their cost stays in the figures.
    SMARTSTEPS_SECURITY__RATE_LIMITING__GLOBAL: '100000000/minute',
    SMARTSTEPS_SECURITY__RATE_LIMITING__DEFAULT_LIMIT: '100000000/minute',
    SMARTSTEPS_SECURITY__RATE_LIMITING__PER_USER__ADMIN: '100000000/minute',
    SMARTSTEPS_SECURITY__API_KEYS__RATE_LIMITING__RATE: '100000000/minute',
    // One login must outlast the run (the bench does not refresh its token).
    SMARTSTEPS_AUTH__ACCESS_TOKEN_TTL_SECONDS: String(
      Math.min(86_400, Math.max(900, Math.ceil(opts.tokenTtlSeconds))),
    ),
  };
  const startChild: BenchStack['startChild'] = (file, ready, childOpts = {}) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const profiling = childOpts.profile
        ? ['--cpu-prof', `--cpu-prof-dir=${childOpts.profile}`]
        : [];
      const child = spawn(
        process.execPath,
        [...profiling, '--import', 'tsx', path.join(ROOT, file), ...(childOpts.args ?? [])],
        {
          cwd: ROOT,
          env: { ...env, ...appProcessEnv(), SMARTSTEPS_LOGGING__LEVEL: 'info', ...childOpts.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      const name = file.replace(/\.ts$/, '');
      childNames.set(child, name);
      const logFile = createWriteStream(
        path.join(logDir, `${name.replace(/\//g, '-')}-${child.pid ?? 'x'}.log`),
      );
      child.stdout.pipe(logFile);
      child.stderr.pipe(logFile);
      let out = '';
      let isReady = false;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Searched only until found: a child logging a line per request would otherwise cost
        // this process (the load generator) a scan of the whole tail per request.
        if (!isReady && out.includes(ready)) {
          isReady = true;
          resolve(child);
        }
        // Only the tail matters (for the error below); a chatty child must not grow it forever.
        if (out.length > 100_000) out = out.slice(-10_000);
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) =>
        reject(new Error(`${file} exited (${code}): ${out.slice(-1000)}`)),
      );
    });
  return {
    stack,
    env,
    config: loadConfig({ argv: [], env }),
    apiPort,
    base: `http://127.0.0.1:${apiPort}/api/v1`,
    startChild,
    processes: () => [
      ...stack.services.processes.map((p) => ({ name: p.name, pid: p.pid })),
      ...children
        .filter((c) => c.pid !== undefined && c.exitCode === null)
        .map((c) => ({ name: childNames.get(c)!, pid: c.pid! })),
    ],
    stop: async () => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      await Promise.all(
        children
          .filter((c) => c.exitCode === null && c.signalCode === null)
          .map((c) => new Promise((r) => c.once('exit', r))),
      );
      await stack.stop();
    },
  };
}

/**
 * Prepares the bench database as `db init` would (indexes) and creates an admin user in it, as
 * an operator does with `smart-steps user create`. Returns the credentials to log in with.
 */
export async function createAdmin(
  mongoUri: string,
): Promise<{ username: string; password: string }> {
  const client = new MongoClient(mongoUri);
  await client.connect();
  try {
    const db = client.db(BENCH_DATABASE);
    await ensureIndexes(db);
    const username = `bench_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(18).toString('base64url');
    await new UserStore(db).create({
      username,
      email: `${username}@bench.localhost`,
      role: 'admin',
      password,
    });
    return { username, password };
  } finally {
    await client.close();
  }
}

export type Http = <T>(method: string, p: string, body?: unknown) => Promise<T>;

/** JSON over HTTP against `base`, with the bearer token when given; non-2xx answers throw. */
export function httpClient(base: string, token?: string): Http {
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + p, {
      method,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    }).catch((err: unknown) => {
      // fetch says only "fetch failed"; the cause (a reset, a timeout) is what tells them apart.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`${method} ${p}: ${cause?.code ?? cause?.message ?? String(err)}`);
    });
    if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
}

/** Logs in over HTTP (POST /auth/login) and returns the access token. */
export async function login(
  base: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const res = await httpClient(base)<{ token: string }>('POST', '/auth/login', credentials);
  return res.token;
}

/** Creates a client to book sessions for; returns its id. */
export async function createClient(http: Http, firstName = 'Bench'): Promise<string> {
  const c = await http<{ client_id: string }>('POST', '/clients', {
    first_name: firstName,
    last_name: `Client ${randomBytes(3).toString('hex')}`,
  });
  return c.client_id;
}

/**
 * The app processes most benchmarks need, started once on a bench stack, and an admin signed in.
 * Benchmarks that need more (API instances, dispatchers) start those themselves.
 */
export interface BenchApp {
  bench: BenchStack;
  /** The API process on `bench.apiPort`. */
  api: ChildProcess;
  token: string;
  /** JSON over HTTP to the API, signed in as the admin. */
  http: Http;
  /** The bare Koa server (bench/bare-server.ts); started on first use, then shared. */
  bareServer(): Promise<{ url: string; pid: number }>;
}

/**
 * Starts a session worker, a persona worker and the API (webhooks may target loopback, for the
 * webhook bench's receiver), creates an admin and signs in. `profile`: folder for a V8 CPU
 * profile of each of these processes.
 */
export async function startBenchApp(
  bench: BenchStack,
  opts: { profile?: string } = {},
): Promise<BenchApp> {
  const profile = opts.profile ? { profile: opts.profile } : {};
  const [, , api] = await Promise.all([
    bench.startChild('workers/session-worker.ts', 'sessions worker polling', profile),
    bench.startChild('workers/persona-worker.ts', 'personas worker polling', profile),
    bench.startChild('api/server.ts', 'api listening', { ...profile, env: LOOPBACK_WEBHOOKS }),
  ]);
  const token = await login(bench.base, await createAdmin(bench.stack.services.mongoUri));
  let bare: Promise<{ url: string; pid: number }> | undefined;
  const bareServer = () => {
    bare ??= (async () => {
      const port = await freePort();
      const child = await bench.startChild('bench/bare-server.ts', 'bare listening', {
        ...profile,
        args: ['--port', String(port)],
      });
      return { url: `http://127.0.0.1:${port}`, pid: child.pid! };
    })();
    return bare;
  };
  return { bench, api, token, http: httpClient(bench.base, token), bareServer };
}

/** Lets webhooks target 127.0.0.1, where the webhook bench's receiver listens. */
export const LOOPBACK_WEBHOOKS = { SMARTSTEPS_WEBHOOKS__ALLOWED_HOSTS: '127.0.0.1' };

/** Runs a benchmark's CLI: `main`'s failure is logged and exits non-zero. */
export function runCli(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
