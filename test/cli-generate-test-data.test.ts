import type { Summary } from '../cli/commands/generate-test-data';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { start as startApi, type ApiServer } from '../api/server';
import { assessRisk } from '../personas/safety/risk';
import { allLines } from '../cli/test-data/conversations';
import { planRun } from '../cli/test-data/plan';
import { Progress } from '../cli/test-data/progress';
import { RunControl, runPlan } from '../cli/test-data/runner';
import { Api } from '../cli/remote/api';
import { startRuntime, type Runtime, type SignedIn } from './helpers/runtime';
import { quietLogger, testConfig, waitFor } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'smart-steps.js');

interface Run {
  child: ChildProcessWithoutNullStreams;
  out: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

interface StoredMessage {
  id: string;
  sender_type: string;
  content: string;
}

describe('smart-steps generate-test-data', () => {
  let rt: Runtime;
  let user: SignedIn;
  const children: ChildProcessWithoutNullStreams[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SMARTSTEPS_PASSWORD;
  delete env.SMARTSTEPS_API_KEY;
  delete env.SMARTSTEPS_CONFIG;

  beforeAll(async () => {
    rt = await startRuntime();
    user = await rt.signIn('admin', 'data_generator');
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await rt?.stop();
  });

  const cli = (args: string[], url = rt.api.url): Run => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'generate-test-data',
        '--url',
        url,
        '--username',
        user.email,
        '--password',
        user.password,
        ...args,
      ],
      { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(child);
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    return { child, out, exited };
  };

  const totals = async () => {
    const clients = await rt.http('GET', '/api/v1/clients?limit=1');
    const sessions = await rt.http('GET', '/api/v1/sessions?limit=1');
    return {
      clients: clients.body.pagination.total as number,
      sessions: sessions.body.pagination.total as number,
    };
  };

  /** The newest `n` sessions, in full. */
  const newestSessions = async (n: number) => {
    const list = await rt.http('GET', `/api/v1/sessions?limit=${n}`);
    return Promise.all(
      (list.body.sessions as { session_id: string }[]).map(
        async (s) => (await rt.http('GET', `/api/v1/sessions/${s.session_id}`)).body,
      ),
    );
  };

  it('only ever says things the safety screen rates as no risk, so generated sessions raise no alerts', () => {
    const flagged = allLines().filter((line) => assessRisk(line).level !== 'none');
    expect(flagged).toEqual([]);
  });

  it('creates the clients and completed sessions it reports, each a conversation the persona answered', async () => {
    const before = await totals();
    const run = cli(['--clients', '3', '--sessions', '4', '--turns', '2', '--seed', '7']);
    expect(await run.exited).toBe(0);

    expect(run.out.stdout).toMatch(
      /^Created 3 clients and 4 completed sessions \(\d+ messages\) in \d+s at http:\/\/127\.0\.0\.1:\d+\n/,
    );
    expect(run.out.stdout).toContain('seed 7');
    // Not a terminal: plain progress lines for a log, ending at the full count.
    expect(run.out.stderr).toContain('clients: 3/3 100%');
    expect(run.out.stderr).toContain('sessions: 4/4 100%');

    const after = await totals();
    expect(after.clients - before.clients).toBe(3);
    expect(after.sessions - before.sessions).toBe(4);

    const listed = (await rt.http('GET', '/api/v1/clients?limit=3')).body.clients as {
      client_id: string;
    }[];
    const clients = await Promise.all(
      listed.map(async (c) => (await rt.http('GET', `/api/v1/clients/${c.client_id}`)).body),
    );
    for (const c of clients) {
      expect(c.first_name).toMatch(/^\p{Lu}/u);
      expect(c.metadata).toMatchObject({ source: 'smart-steps generate-test-data' });
      if (c.email)
        expect(c.email).toMatch(/^[a-z]+\.[a-z]+\+[a-z0-9]{6}\.\d+@example\.(com|org|net)$/);
    }

    const bank = new Set(allLines());
    const clientIds = new Set(clients.map((c) => c.client_id));
    for (const session of await newestSessions(4)) {
      expect(session).toMatchObject({ status: 'completed', summary: expect.any(String) });
      expect(clientIds.has(session.client_id)).toBe(true);
      expect(session.goals.length).toBeGreaterThan(0);
      const messages = session.messages as StoredMessage[];
      // The persona opens, then every client line is answered before the next is sent.
      expect(messages.map((m) => m.sender_type)).toEqual([
        'persona',
        'client',
        'persona',
        'client',
        'persona',
      ]);
      for (const m of messages.filter((m) => m.sender_type === 'client')) {
        expect(bank.has(m.content)).toBe(true);
      }
      for (const m of messages.filter((m) => m.sender_type === 'persona')) {
        expect(m.content.trim()).not.toBe('');
      }
    }
  });

  it('adds more on every run, and --json reports exactly what it created', async () => {
    const before = await totals();
    // The same seed again: the same people, yet no clash with the addresses the first run took.
    const run = cli([
      '--clients',
      '2',
      '--sessions',
      '3',
      '--turns',
      '1-2',
      '--concurrency',
      '3',
      '--seed',
      '7',
      '--json',
    ]);
    expect(await run.exited).toBe(0);
    const summary = JSON.parse(run.out.stdout) as Summary;
    expect(summary).toMatchObject({
      seed: 7,
      clients: { created: 2, failed: 0 },
      sessions: { completed: 3, failed: 0, cancelled: 0, not_started: 0 },
      interrupted: false,
      failures: [],
    });
    expect(summary.clients.ids).toHaveLength(2);
    expect(summary.sessions.ids).toHaveLength(3);

    const after = await totals();
    expect(after.clients - before.clients).toBe(2);
    expect(after.sessions - before.sessions).toBe(3);

    let messages = 0;
    for (const id of summary.sessions.ids) {
      const session = (await rt.http('GET', `/api/v1/sessions/${id}`)).body;
      expect(session.status).toBe('completed');
      expect(summary.clients.ids).toContain(session.client_id);
      expect(session.metadata).toMatchObject({ run: summary.run });
      messages += (session.messages as unknown[]).length;
    }
    expect(summary.messages).toBe(messages);

    // The seed decides the people: these two are the first two of the earlier run with seed 7.
    const names = async (ids: string[]) =>
      Promise.all(
        ids.map(async (id) => {
          const c = (await rt.http('GET', `/api/v1/clients/${id}`)).body;
          return `${c.first_name} ${c.last_name}`;
        }),
      );
    const earlier = (await rt.http('GET', '/api/v1/clients?limit=5')).body.clients.slice(2) as {
      client_id: string;
    }[];
    const earlierNames = await names(earlier.map((c) => c.client_id));
    for (const name of await names(summary.clients.ids)) expect(earlierNames).toContain(name);
  });

  it('waits out 429s as Retry-After says and still creates everything', async () => {
    // A second API on the same database and workers, with a limit three parallel requests trip.
    const limited: ApiServer = await startApi(
      testConfig({
        'storage.connection.database': rt.config.storage.connection.database,
        'temporal.task_queues.sessions': rt.config.temporal.task_queues.sessions,
        'temporal.task_queues.personas': rt.config.temporal.task_queues.personas,
        'security.rate_limiting.enabled': true,
        'security.rate_limiting.per_endpoint': { 'POST /api/v1/clients': '1/2 seconds' },
      }),
      quietLogger,
    );
    try {
      const run = cli(
        ['--clients', '3', '--sessions', '1', '--turns', '1', '--concurrency', '3', '--json'],
        limited.url,
      );
      expect(await run.exited).toBe(0);
      const summary = JSON.parse(run.out.stdout) as Summary;
      expect(summary.clients.created).toBe(3);
      expect(summary.sessions.completed).toBe(1);
      expect(summary.rate_limit_waits).toBeGreaterThan(0);
      expect(run.out.stderr).toMatch(/rate limited \(endpoint limit\) at POST \/api\/v1\/clients/);
    } finally {
      await limited.stop();
    }
  });

  it('on Ctrl-C starts no more sessions and ends those in flight as completed', async () => {
    const before = await totals();
    const run = cli([
      '--clients',
      '2',
      '--sessions',
      '30',
      '--turns',
      '2',
      '--concurrency',
      '2',
      '--json',
    ]);
    await waitFor(
      'the first finished session',
      () => /sessions: [1-9]/.test(run.out.stderr),
      30_000,
    );
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);

    const summary = JSON.parse(run.out.stdout) as Summary;
    expect(summary.interrupted).toBe(true);
    expect(summary.sessions.failed).toBe(0);
    expect(summary.sessions.not_started).toBeGreaterThan(0);
    expect(summary.sessions.completed + summary.sessions.not_started).toBe(30);

    const after = await totals();
    expect(after.sessions - before.sessions).toBe(summary.sessions.completed);
    for (const session of await newestSessions(summary.sessions.completed)) {
      expect(session).toMatchObject({ status: 'completed', summary: expect.any(String) });
    }
  });

  it('when stopped hard (a second Ctrl-C) cancels the sessions in flight, leaving none active', async () => {
    const control = new RunControl();
    // The stop comes the moment a session has started, so it lands while sessions are in flight.
    class StoppedAtStart extends Api {
      override async request<T>(
        method: string,
        route: string,
        body?: unknown,
        opts?: { auth?: boolean },
      ): Promise<T> {
        const answer = await super.request<T>(method, route, body, opts);
        if (route.endsWith('/start')) {
          control.stopping = true;
          control.abort.abort();
        }
        return answer;
      }
    }
    const api = new StoppedAtStart(rt.api.url);
    await api.login(user.email, user.password);
    const before = await totals();
    const report = await runPlan({
      api,
      plan: planRun({
        run: 'stop01',
        seed: 1,
        clients: 1,
        sessions: 4,
        turns: { min: 3, max: 3 },
        personas: ['dr_morgan_hayes'],
      }),
      concurrency: 2,
      replyTimeoutMs: 30_000,
      progress: new Progress({ write: () => true }),
      control,
    });
    expect(report).toMatchObject({ completed: [], failed: [], notStarted: 2 });
    expect(report.cancelled).toHaveLength(2);
    expect((await totals()).sessions - before.sessions).toBe(2);
    for (const id of report.cancelled) {
      expect((await rt.http('GET', `/api/v1/sessions/${id}`)).body.status).toBe('cancelled');
    }
  });

  it('refreshes an expired access token once for all the sessions in flight', async () => {
    const api = new Api(rt.api.url);
    await api.login(user.email, user.password);
    // As if the access token had expired: every parallel request meets a 401 at once. A refresh
    // token works once (a replay ends the login), so they must share one refresh.
    (api as unknown as { token: string }).token = 'expired';
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        api.request<{ personas: unknown[] }>('GET', '/api/v1/personas'),
      ),
    );
    for (const a of answers) expect(a.personas.length).toBeGreaterThan(0);
    expect(api.bearer).not.toBe('expired');
    // The login is still good: a socket can be opened with it, and the next refresh works.
    (api as unknown as { token: string }).token = 'expired-again';
    await expect(api.request('GET', '/api/v1/auth/me')).resolves.toMatchObject({
      name: expect.any(String),
    });
  });

  it('refuses bad flags with exit code 2, saying what is wrong, before touching the API', async () => {
    const cases: [string[], string][] = [
      [['--clients', 'many'], '--clients must be a whole number'],
      [['--turns', '0'], '--turns must be a number of turns or a range'],
      [['--turns', '8-4'], '--turns must be a number of turns or a range'],
      [['--concurrency', '0'], '--concurrency must be a whole number from 1'],
      [['--clients', '0', '--sessions', '3'], '--sessions needs clients'],
      [['--colour'], "Unknown option '--colour'"],
    ];
    const before = await totals();
    // Side by side: each is a process start, most of the time spent loading.
    const runs = cases.map(([args]) => cli(args));
    for (const [i, run] of runs.entries()) {
      expect(await run.exited).toBe(2);
      expect(run.out.stderr).toContain(cases[i]![1]);
      expect(run.out.stderr).toContain('Usage: smart-steps generate-test-data');
      expect(run.out.stdout).toBe('');
    }
    expect(await totals()).toEqual(before);
  });

  it('fails with exit code 1 and creates nothing when the login is refused', async () => {
    const before = await totals();
    // A later --password wins over the one cli() passes.
    const run = cli(['--clients', '1', '--sessions', '1', '--password', 'not-the-password']);
    expect(await run.exited).toBe(1);
    expect(run.out.stderr).toContain(`login as '${user.email}' at ${rt.api.url} failed`);
    expect(await totals()).toEqual(before);
  });

  it('explains itself with --help and is listed among the commands', async () => {
    const run = cli(['--help']);
    expect(await run.exited).toBe(0);
    expect(run.out.stdout).toContain('Usage: smart-steps generate-test-data [--clients 50]');
    expect(run.out.stdout).toContain('--json');

    const list = spawn(process.execPath, [BIN, '--help'], { cwd: ROOT, env });
    let listed = '';
    list.stdout.on('data', (d: Buffer) => (listed += d.toString()));
    await new Promise((resolve) => list.once('close', resolve));
    expect(listed).toMatch(/generate-test-data\s+Fill the running stack/);
  });
});
