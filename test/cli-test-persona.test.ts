import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { startRuntime, type Runtime, type SignedIn } from './helpers/runtime';
import { waitFor } from './helpers/stack';
import { personaDefinition } from './helpers/personas';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'smart-steps.js');
const NAME = 'Dr. Morgan Hayes';

interface Cli {
  child: ChildProcessWithoutNullStreams;
  out: { stdout: string; stderr: string; code: number | null | undefined };
  exited: Promise<number | null>;
}

describe('smart-steps test-persona', () => {
  let rt: Runtime;
  let user: SignedIn;
  const children: ChildProcessWithoutNullStreams[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SMARTSTEPS_PASSWORD;
  delete env.SMARTSTEPS_API_KEY;
  delete env.SMARTSTEPS_CONFIG;

  beforeAll(async () => {
    rt = await startRuntime();
    user = await rt.signIn('admin', 'persona_tester');
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await rt?.stop();
  });

  const cli = (args: string[], url = rt.api.url): Cli => {
    const child = spawn(
      process.execPath,
      // `username` may be the e-mail address.
      [
        BIN,
        'test-persona',
        '--url',
        url,
        '--username',
        user.email,
        '--password',
        user.password,
      ].concat(args),
      { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(child);
    const out: Cli['out'] = { stdout: '', stderr: '', code: undefined };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('close', (code) => resolve((out.code = code))),
    );
    return { child, out, exited };
  };

  const personaLines = (stdout: string) =>
    stdout.split('\n').filter((l) => l.startsWith(`${NAME}: `) && l.length > NAME.length + 2);

  it('holds a conversation from piped input: opening line, a reply to each line, a summary', async () => {
    const run = cli(['--persona', 'dr_morgan_hayes']);
    // Lines are written one at a time as the conversation goes, the way a person would type.
    await waitFor('the opening line', () => personaLines(run.out.stdout).length >= 1, 60_000);
    run.child.stdin.write('I feel anxious about work\n');
    await waitFor(
      'the reply to the first line',
      () => /You: I feel anxious about work\n[^]*Dr\. Morgan Hayes: \S/.test(run.out.stdout),
      60_000,
    );
    run.child.stdin.write('My deadlines keep piling up\n');
    await waitFor(
      'the reply to the second line',
      () => /You: My deadlines keep piling up\n[^]*Dr\. Morgan Hayes: \S/.test(run.out.stdout),
      60_000,
    );
    run.child.stdin.write('/end\n');
    const code = await run.exited;

    expect(run.out.stderr).not.toMatch(/error|timed out/i);
    expect(code).toBe(0);
    const lines = run.out.stdout.split('\n');
    // Opening line first, then one reply after each message, then the summary.
    expect(lines[0]).toMatch(/^Dr\. Morgan Hayes: \S/);
    const first = lines.indexOf('You: I feel anxious about work');
    const second = lines.indexOf('You: My deadlines keep piling up');
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first + 1);
    expect(lines[first + 1]).toMatch(/^Dr\. Morgan Hayes: \S/);
    expect(lines[second + 1]).toMatch(/^Dr\. Morgan Hayes: \S/);
    expect(run.out.stdout).toMatch(/Session ended \(\d+ messages\)\.\nSummary: \S/);
    expect(run.out.stdout.indexOf('Summary:')).toBeGreaterThan(second);

    // The session the command held, as the API stores it.
    const sessions = await rt.http('GET', '/api/v1/sessions?persona_id=dr_morgan_hayes');
    const held = sessions.body.sessions[0];
    const session = await rt.http('GET', `/api/v1/sessions/${held.session_id}`);
    expect(session.body).toMatchObject({ status: 'completed', summary: expect.any(String) });
    const client = await rt.http('GET', `/api/v1/clients/${held.client_id}`);
    expect(client.body).toMatchObject({ first_name: 'Persona', last_name: 'Test' });
  });

  it('takes its whole input from a pipe and reuses the "Persona Test" client', async () => {
    const run = cli(['--persona', 'dr_morgan_hayes']);
    run.child.stdin.end('How do I stop worrying?\n');
    // End of input ends the session like /end.
    expect(await run.exited).toBe(0);
    expect(run.out.stdout).toMatch(
      /^Dr\. Morgan Hayes: \S.*\nYou: How do I stop worrying\?\nDr\. Morgan Hayes: \S[^]*Summary: \S/,
    );
    const clients = await rt.http('GET', '/api/v1/clients?search=Persona&limit=100');
    expect(
      clients.body.clients.filter(
        (c: { first_name: string; last_name: string }) =>
          c.first_name === 'Persona' && c.last_name === 'Test',
      ),
    ).toHaveLength(1);
  });

  it('refuses an unknown persona, naming all there are, past the list’s first page', async () => {
    // 100 custom personas after the built-in ones: the last is on the list's second page.
    for (let i = 1; i <= 100; i++) {
      const id = `zz_paged_${String(i).padStart(3, '0')}`;
      const res = await rt.http(
        'POST',
        '/api/v1/personas',
        personaDefinition(id, `Dr. Paged ${i}`),
      );
      expect(res.status).toBe(201);
    }
    const run = cli(['--persona', 'dr_nobody']);
    run.child.stdin.end();
    expect(await run.exited).toBe(1);
    expect(run.out.stderr).toContain("unknown persona 'dr_nobody'");
    expect(run.out.stderr).toContain('dr_morgan_hayes');
    expect(run.out.stderr).toContain('zz_paged_100');
    expect(run.out.stdout).toBe('');
  });

  it('says which URL it could not reach when the stack is not running', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const run = cli(['--persona', 'dr_morgan_hayes'], url);
    run.child.stdin.end();
    expect(await run.exited).toBe(1);
    expect(run.out.stderr).toContain(`cannot reach the Smart Steps API at ${url}`);
  });
});
