/**
 * Load test and soak (issue 9): virtual users acting like apps, bounded in count and time, with
 * the app processes' memory and handles sampled over the run to show nothing leaks.
 *
 *   npm run bench:load -- [--users 20] [--messages-per-session 20] [--duration 60]
 *     [--max-requests 20000] [--sample-every 5] [--reply-timeout 30] [--output FILE]
 *   npm run bench:soak -- [--duration 1800] [--sample-every 30] ...   (no request bound)
 *
 * One throw-away stack; the API, a session worker, a persona worker and a webhook dispatcher as
 * child processes, each with a metrics port of its own; one webhook (`session.*`,
 * `message.created`) to a receiver in this process that only counts deliveries. Each user
 * creates a client, opens a WebSocket to /ws (token in the Authorization header) and loops:
 * book a session, join it, start it, then per message POST it over REST, wait for the persona's
 * `new_message` frame replying to it (a timeout counts as an error) and GET the session; after
 * `--messages-per-session` it ends the session and books the next.
 *
 * Stops by itself at the first of `--duration` seconds, `--max-requests` HTTP requests and
 * SIGINT (a second SIGINT exits at once). At the stop, requests and waits in flight are cut (not
 * counted as replies or errors) and each user ends its open session (at most one request more
 * per user, within 15 s; what is not ended by then is reported as left open). Every `--sample-every` seconds it records per process RSS, V8 heap,
 * active handles and open fds (bench/process-sampler.ts) and the load generator's window;
 * the report ends with a leak verdict per process (bench/leak-verdict.ts). Markdown to stdout
 * and `--output`, JSON beside it. Loopback only: see `loopbackBase`.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { freePorts } from '../scripts/stack/ports';
import {
  LOOPBACK_WEBHOOKS,
  ROOT,
  createAdmin,
  log,
  login,
  pct,
  runCli,
  startBenchStack,
  type BenchStack,
} from './harness';
import { leakVerdict, type LeakVerdict, type Measure } from './leak-verdict';
import { sampleProcess, type ProcessSample } from './process-sampler';
import { machine, type Machine } from './report';

// ---- options ----

export interface LoadOptions {
  soak: boolean;
  users: number;
  messagesPerSession: number;
  durationSeconds: number;
  /** Infinity: no bound (soak). */
  maxRequests: number;
  sampleEverySeconds: number;
  replyTimeoutSeconds: number;
  output: string;
}

/** Exit code 2 and this message: the tool only ever talks to this machine. */
class NotLoopback extends Error {}

/**
 * The one place the target is checked: the base URL every request and the WebSocket derive from
 * must name 127.0.0.1, ::1 or localhost.
 */
export function loopbackBase(base: string): string {
  const host = new URL(base).hostname.replace(/^\[|\]$/g, '');
  if (!['127.0.0.1', '::1', 'localhost'].includes(host))
    throw new NotLoopback(
      `refusing to load ${base}: the load test talks to loopback only (127.0.0.1, ::1, localhost)`,
    );
  return base;
}

// ---- the load generator's counters ----

interface Counters {
  requests: number;
  replies: number;
  errors: number;
  timeouts: number;
  deliveries: number;
  /** Sessions ended (POST .../end answered), however many messages they had. */
  sessionsEnded: number;
  /** Of those, the ones that had all `--messages-per-session` messages. */
  sessionsCompleted: number;
  /** Sessions whose end failed or was cut by the drain's bound after the stop. */
  leftOpen: number;
  /** Reply latencies (POST sent → `new_message` frame) since the last window. */
  latencies: number[];
}

export interface Window {
  /** s since the load started */
  t: number;
  requests: number;
  perSecond: number;
  replies: number;
  p50: number;
  p99: number;
  errors: number;
  deliveries: number;
}

/** After the stop, how long users may take to end their open sessions. */
const DRAIN_MS = 15_000;

const PROCESSES = ['api', 'session worker', 'persona worker', 'webhook dispatcher'] as const;
type ProcessName = (typeof PROCESSES)[number];

export interface LoadResult {
  command: string;
  mode: 'load' | 'soak';
  options: Omit<LoadOptions, 'maxRequests'> & { maxRequests: number | null };
  machine: Machine;
  startedAt: string;
  finishedAt: string;
  loadAverageAtEnd: number[];
  stoppedBy: string;
  /** From the start of the load to the stop. */
  elapsedSeconds: number;
  /** From the stop to the last user's return (ending open sessions). */
  drainSeconds: number;
  totals: Omit<Counters, 'latencies'> & { replyP50: number; replyP99: number };
  windows: Window[];
  processes: Record<ProcessName, (ProcessSample & { t: number })[]>;
  verdicts: Record<ProcessName, LeakVerdict>;
}

// ---- the webhook receiver: counts, verifies nothing ----

async function startReceiver(counters: Counters) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      counters.deliveries++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- a virtual user ----

interface Ctx {
  base: string;
  token: string;
  counters: Counters;
  opts: LoadOptions;
  stopped: () => boolean;
  /**
   * Aborted when the run stops: what is in flight (a request, a wait for a reply or an ack) is
   * cut short and not counted, so the run ends on time however slow the system has become.
   */
  halt: AbortSignal;
  /** Aborted when the drain after the stop (ending open sessions) is over. */
  drained: AbortSignal;
  /** Counts a request against the bound; false once the bound is reached. */
  take: () => boolean;
}

/** Cut short because the run stopped: neither a reply nor an error. */
class Halted extends Error {}

/**
 * JSON over HTTP, counted; non-2xx throws. `signal`: what cuts it short besides its 60 s
 * timeout (the run's halt by default).
 */
async function call<T>(
  ctx: Ctx,
  method: string,
  p: string,
  body?: unknown,
  signal: AbortSignal = ctx.halt,
): Promise<T> {
  if (signal.aborted) throw new Halted();
  ctx.counters.requests++;
  // A controller of its own, unhooked from `signal` afterwards: the run's long-lived signals
  // keep no listener (nor a composite signal) per request over a long soak.
  const ac = new AbortController();
  const cut = () => ac.abort();
  signal.addEventListener('abort', cut, { once: true });
  const timer = setTimeout(() => ac.abort(), 60_000);
  let res: Response;
  let text: string;
  try {
    res = await fetch(ctx.base + p, {
      method,
      headers: {
        Authorization: `Bearer ${ctx.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: ac.signal,
    });
    text = await res.text();
  } catch (err) {
    throw signal.aborted ? new Halted() : err;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', cut);
  }
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${text.slice(0, 200)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

type Outcome = 'ok' | 'refused' | 'halted';

/** A WebSocket that resolves acks and persona replies by id. */
class UserSocket {
  private acks = new Map<string, (ok: boolean) => void>();
  private replies = new Map<string, (ok: boolean) => void>();
  /** Replies that arrived before their POST returned. */
  private early = new Set<string>();
  closed = false;

  private constructor(private ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: { type: string; data?: Record<string, unknown> };
      try {
        frame = JSON.parse((data as Buffer).toString('utf8')) as typeof frame;
      } catch {
        return;
      }
      if (frame.type === 'ack' || frame.type === 'error') {
        const id = frame.data?.request_id as string | undefined;
        if (id) this.acks.get(id)?.(frame.type === 'ack');
      } else if (frame.type === 'new_message') {
        const message = frame.data?.message as
          { sender_type?: string; metadata?: { in_reply_to?: string[] } } | undefined;
        if (message?.sender_type !== 'persona') return;
        for (const id of message.metadata?.in_reply_to ?? []) {
          const waiter = this.replies.get(id);
          if (waiter) waiter(true);
          else this.early.add(id);
        }
      }
    });
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  static open(base: string, token: string): Promise<UserSocket> {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws').replace(/\/api\/v1$/, '')}/ws`, {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: 15_000,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new UserSocket(ws)));
      ws.once('error', reject);
    });
  }

  /**
   * Sends a frame and waits for its ack: 'ok', 'refused' (an error frame or no answer in 15 s)
   * or 'halted'.
   */
  request(type: string, data: unknown, halt: AbortSignal): Promise<Outcome> {
    const id = `load_${randomBytes(6).toString('hex')}`;
    return this.wait(this.acks, id, 15_000, halt, () =>
      this.ws.send(JSON.stringify({ type, id, data })),
    );
  }

  /** Waits for the persona's reply to `messageId`: 'ok', 'refused' (timed out) or 'halted'. */
  reply(messageId: string, timeoutMs: number, halt: AbortSignal): Promise<Outcome> {
    if (this.early.delete(messageId)) return Promise.resolve('ok');
    return this.wait(this.replies, messageId, timeoutMs, halt);
  }

  private wait(
    waiters: Map<string, (ok: boolean) => void>,
    id: string,
    timeoutMs: number,
    halt: AbortSignal,
    send?: () => void,
  ): Promise<Outcome> {
    if (halt.aborted) return Promise.resolve('halted');
    return new Promise<Outcome>((resolve) => {
      const done = (outcome: Outcome) => {
        clearTimeout(timer);
        halt.removeEventListener('abort', onHalt);
        waiters.delete(id);
        resolve(outcome);
      };
      const onHalt = () => done('halted');
      const timer = setTimeout(() => done('refused'), timeoutMs);
      halt.addEventListener('abort', onHalt);
      waiters.set(id, (ok) => done(ok ? 'ok' : 'refused'));
      send?.();
    });
  }

  /** Forgets replies nobody waits for any more (they came after a timeout). */
  forgetEarly(): void {
    this.early.clear();
  }

  /** Closes the socket; drops it after 2 s without the server's close frame. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.ws.terminate(), 2000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close();
    });
  }
}

async function virtualUser(ctx: Ctx, n: number): Promise<void> {
  const { counters, opts } = ctx;
  const fail = (what: string, err: unknown) => {
    counters.errors++;
    if (counters.errors <= 10) log(`user ${n}: ${what}: ${(err as Error).message ?? String(err)}`);
  };
  let clientId: string | undefined;
  let socket: UserSocket | undefined;
  try {
    while (!ctx.stopped()) {
      let sessionId: string | undefined;
      let sent = 0;
      try {
        if (!ctx.take()) break;
        clientId ??= (
          await call<{ client_id: string }>(ctx, 'POST', '/clients', {
            first_name: 'Load',
            last_name: `User ${n}`,
          })
        ).client_id;
        if (!socket || socket.closed) socket = await UserSocket.open(ctx.base, ctx.token);
        if (!ctx.take()) break;
        sessionId = (
          await call<{ session_id: string }>(ctx, 'POST', '/sessions', {
            client_id: clientId,
            persona_id: 'dr_morgan_hayes',
            goals: ['Load test'],
            duration_minutes: 480,
          })
        ).session_id;
        const joined = await socket.request('join_session', { session_id: sessionId }, ctx.halt);
        if (joined === 'halted') break;
        if (joined === 'refused')
          throw new Error(`join_session ${sessionId} refused or unanswered`);
        if (!ctx.take()) break;
        await call(ctx, 'POST', `/sessions/${sessionId}/start`);
        for (let m = 1; m <= opts.messagesPerSession; m++) {
          if (!ctx.take()) break;
          const t = performance.now();
          const msg = await call<{ id: string }>(ctx, 'POST', `/sessions/${sessionId}/messages`, {
            content: `Message ${m}: work has been stressful and I feel anxious before meetings.`,
          });
          const replied = await socket.reply(msg.id, opts.replyTimeoutSeconds * 1000, ctx.halt);
          if (replied === 'halted') break;
          if (replied === 'ok') {
            counters.replies++;
            counters.latencies.push(performance.now() - t);
          } else {
            counters.timeouts++;
            counters.errors++;
          }
          if (!ctx.take()) break;
          await call(ctx, 'GET', `/sessions/${sessionId}`);
          sent = m;
        }
      } catch (err) {
        if (!(err instanceof Halted)) {
          fail('step failed', err);
          // Do not spin on a failure (e.g. the API restarting): the next step a second later.
          if (!ctx.stopped()) await new Promise((r) => setTimeout(r, 1000));
        }
      }
      if (sessionId) {
        // Ended also when the run has stopped (within the drain): sessions are not left running.
        try {
          await call(ctx, 'POST', `/sessions/${sessionId}/end`, undefined, ctx.drained);
          counters.sessionsEnded++;
          if (sent === opts.messagesPerSession) counters.sessionsCompleted++;
        } catch (err) {
          if (ctx.stopped()) counters.leftOpen++;
          else fail(`ending ${sessionId}`, err);
        }
        if (!ctx.stopped() && socket && !socket.closed)
          await socket.request('leave_session', { session_id: sessionId }, ctx.halt);
        socket?.forgetEarly();
      }
    }
  } catch (err) {
    // Opening the socket failed after the stop, or the like: nothing more to do.
    if (!ctx.stopped()) fail('gave up', err);
  } finally {
    await socket?.close();
  }
}

// ---- the run ----

export async function runLoad(
  bench: BenchStack,
  opts: LoadOptions,
  command: string,
): Promise<LoadResult> {
  const startedAt = new Date().toISOString();
  const mach = machine();
  const base = loopbackBase(bench.base);
  const counters: Counters = {
    requests: 0,
    replies: 0,
    errors: 0,
    timeouts: 0,
    deliveries: 0,
    sessionsEnded: 0,
    sessionsCompleted: 0,
    leftOpen: 0,
    latencies: [],
  };
  const [apiPort, sessionsPort, personasPort, webhooksPort] = await freePorts(4);
  const metricsEnv = (key: string, port: number) => ({
    [`SMARTSTEPS_METRICS__PORTS__${key}`]: String(port),
  });
  log('starting the API, a session worker, a persona worker and a webhook dispatcher');
  const [api, sessions, personas, webhooks] = await Promise.all([
    bench.startChild('api/server.ts', 'api listening', {
      env: { ...LOOPBACK_WEBHOOKS, ...metricsEnv('API', apiPort!) },
    }),
    bench.startChild('workers/session-worker.ts', 'sessions worker polling', {
      env: metricsEnv('SESSIONS', sessionsPort!),
    }),
    bench.startChild('workers/persona-worker.ts', 'personas worker polling', {
      env: metricsEnv('PERSONAS', personasPort!),
    }),
    bench.startChild('workers/webhook-dispatcher.ts', 'webhook dispatcher running', {
      env: { ...LOOPBACK_WEBHOOKS, ...metricsEnv('WEBHOOKS', webhooksPort!) },
    }),
  ]);
  const children: Record<ProcessName, { pid: number; url: string }> = {
    api: { pid: api.pid!, url: `http://127.0.0.1:${apiPort}/metrics` },
    'session worker': { pid: sessions.pid!, url: `http://127.0.0.1:${sessionsPort}/metrics` },
    'persona worker': { pid: personas.pid!, url: `http://127.0.0.1:${personasPort}/metrics` },
    'webhook dispatcher': {
      pid: webhooks.pid!,
      url: `http://127.0.0.1:${webhooksPort}/metrics`,
    },
  };

  const token = await login(base, await createAdmin(bench.stack.services.mongoUri));
  const receiver = await startReceiver(counters);
  const ctxBase = { base, token, counters, opts };
  const never = new AbortController().signal;
  const setup: Ctx = {
    ...ctxBase,
    stopped: () => false,
    take: () => true,
    halt: never,
    drained: never,
  };
  await call(setup, 'POST', '/webhooks', {
    url: receiver.url,
    events: ['session.*', 'message.created'],
    secret: `load-secret-${randomBytes(8).toString('hex')}`,
  });

  // ---- stopping: the first of duration, request bound, SIGINT ----
  // On the stop, whatever is in flight is cut (`halt`); open sessions are then ended within
  // DRAIN_MS (`drained`), so the run ends at most that long after its bound.
  let stoppedBy: string | undefined;
  let stoppedAt = 0;
  const halt = new AbortController();
  const drained = new AbortController();
  // Each user waits on them with a request and a reply at a time (listeners removed after each).
  setMaxListeners(opts.users * 3 + 10, halt.signal, drained.signal);
  let drainTimer: NodeJS.Timeout | undefined;
  const stop = (why: string) => {
    if (stoppedBy) return;
    stoppedBy = why;
    stoppedAt = Date.now();
    log(`stopping: ${why}; ending open sessions (at most ${DRAIN_MS / 1000} s)`);
    halt.abort();
    drainTimer = setTimeout(() => drained.abort(), DRAIN_MS);
  };
  let sigints = 0;
  const onSigint = () => {
    if (sigints++ > 0) process.exit(130);
    stop('SIGINT');
  };
  process.on('SIGINT', onSigint);
  const ctx: Ctx = {
    ...ctxBase,
    stopped: () => stoppedBy !== undefined,
    halt: halt.signal,
    drained: drained.signal,
    take: () => {
      if (stoppedBy) return false;
      if (counters.requests >= opts.maxRequests) {
        stop(`${opts.maxRequests} requests (--max-requests)`);
        return false;
      }
      return true;
    },
  };

  // ---- sampling ----
  const t0 = Date.now();
  const processes = Object.fromEntries(PROCESSES.map((p) => [p, []])) as unknown as Record<
    ProcessName,
    (ProcessSample & { t: number })[]
  >;
  const windows: Window[] = [];
  const allLatencies: number[] = [];
  let last = { at: t0, requests: counters.requests, errors: 0, deliveries: counters.deliveries };
  let sampling: Promise<void> | undefined;
  const sample = (withProcesses: boolean) => {
    // A scrape slower than the interval (a busy machine) must not pile up behind itself.
    sampling ??= takeSample(withProcesses).finally(() => (sampling = undefined));
    return sampling;
  };
  const takeSample = async (withProcesses: boolean) => {
    const at = Date.now();
    const lat = counters.latencies.splice(0).sort((a, b) => a - b);
    allLatencies.push(...lat);
    const secs = (at - last.at) / 1000;
    windows.push({
      t: (at - t0) / 1000,
      requests: counters.requests - last.requests,
      perSecond: secs > 0 ? (counters.requests - last.requests) / secs : 0,
      replies: lat.length,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      errors: counters.errors - last.errors,
      deliveries: counters.deliveries - last.deliveries,
    });
    last = {
      at,
      requests: counters.requests,
      errors: counters.errors,
      deliveries: counters.deliveries,
    };
    const scrapeTimeout = Math.min(5000, opts.sampleEverySeconds * 800);
    if (withProcesses)
      await Promise.all(
        PROCESSES.map(async (p) => {
          const s = await sampleProcess(children[p].pid, children[p].url, scrapeTimeout);
          if (s) processes[p].push({ ...s, t: (s.at - t0) / 1000 });
        }),
      );
    const w = windows.at(-1)!;
    log(
      `t=${w.t.toFixed(0)} s: ${counters.requests} requests (${w.perSecond.toFixed(1)}/s), reply p50 ${f(w.p50)} ms, errors ${counters.errors}, sessions completed ${counters.sessionsCompleted}, webhook deliveries ${counters.deliveries}`,
    );
  };
  const sampler = setInterval(() => void sample(true), opts.sampleEverySeconds * 1000);
  const timer = setTimeout(
    () => stop(`${opts.durationSeconds} s (--duration)`),
    opts.durationSeconds * 1000,
  );

  log(
    `${opts.users} users, ${opts.messagesPerSession} messages per session, up to ${opts.durationSeconds} s${Number.isFinite(opts.maxRequests) ? ` or ${opts.maxRequests} requests` : ''}`,
  );
  await Promise.all(Array.from({ length: opts.users }, (_, i) => virtualUser(ctx, i + 1)));
  // Every user has returned (the run is over): a bound hit by none means every user gave up.
  stop('every user stopped');
  clearTimeout(timer);
  clearTimeout(drainTimer);
  clearInterval(sampler);
  process.off('SIGINT', onSigint);
  const elapsedSeconds = (stoppedAt - t0) / 1000;
  const drainSeconds = (Date.now() - stoppedAt) / 1000;
  // The tail since the last sample, as a window of its own; the processes are not sampled again,
  // since the load has stopped (an idle sample would bend the leak verdict's last quarter).
  await sampling;
  await sample(false);
  await receiver.close();

  allLatencies.sort((a, b) => a - b);
  const verdicts = Object.fromEntries(
    PROCESSES.map((p) => [p, leakVerdict(processes[p])]),
  ) as Record<ProcessName, LeakVerdict>;
  const { latencies: _, ...totals } = counters;
  return {
    command,
    mode: opts.soak ? 'soak' : 'load',
    options: {
      ...opts,
      maxRequests: Number.isFinite(opts.maxRequests) ? opts.maxRequests : null,
    },
    machine: mach,
    startedAt,
    finishedAt: new Date().toISOString(),
    loadAverageAtEnd: machine().loadAverage,
    stoppedBy: stoppedBy!,
    elapsedSeconds,
    drainSeconds,
    totals: { ...totals, replyP50: pct(allLatencies, 50), replyP99: pct(allLatencies, 99) },
    windows,
    processes,
    verdicts,
  };
}

// ---- report ----

const f = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
const signed = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '–' : `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

function trendCell(v: LeakVerdict, m: Measure, digits: number): string {
  const t = v.trends[m];
  if (!t) return '–';
  const pctText = Number.isFinite(t.growthPct) ? ` (${signed(t.growthPct)} %)` : '';
  return `${f(t.first, digits)} → ${f(t.last, digits)}: ${signed(t.growth, digits)}${pctText}${t.grows ? ' ↑' : ''}`;
}

export function renderLoadReport(r: LoadResult): string {
  const m = r.machine;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  const o = r.options;
  const t = r.totals;
  const out: string[] = [
    `# ${r.mode === 'soak' ? 'Soak' : 'Load'} test`,
    '',
    `- Date: ${r.startedAt} → ${r.finishedAt}`,
    `- Command: \`${r.command}\``,
    `- Machine: ${m.cores} cores, ${m.cpu}, ${m.memoryGiB.toFixed(1)} GiB, ${m.platform}, node ${m.node}`,
    `- Load average (1/5/15 min): ${load(m.loadAverage)} at start, ${load(r.loadAverageAtEnd)} at end`,
    `- ${o.users} users, ${o.messagesPerSession} messages per session, reply timeout ${o.replyTimeoutSeconds} s; bounds: ${o.durationSeconds} s${o.maxRequests !== null ? `, ${o.maxRequests} requests` : ''}; samples every ${o.sampleEverySeconds} s`,
    `- Stopped by: ${r.stoppedBy}, after ${r.elapsedSeconds.toFixed(0)} s; open sessions ended in ${r.drainSeconds.toFixed(1)} s more`,
    '- Everything on loopback, on this one machine: the stack (Temporal, NATS, FerretDB), the four app processes and the load generator share its cores.',
    '',
    '## Totals',
    '',
    '| requests | req/s | replies | reply p50 ms | reply p99 ms | errors | of which reply timeouts | webhook deliveries | sessions completed | sessions ended | left open at the stop |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${t.requests} | ${f(t.requests / r.elapsedSeconds, 1)} | ${t.replies} | ${f(t.replyP50)} | ${f(t.replyP99)} | ${t.errors} | ${t.timeouts} | ${t.deliveries} | ${t.sessionsCompleted} | ${t.sessionsEnded} | ${t.leftOpen} |`,
    '',
    `Sessions completed: all ${o.messagesPerSession} messages, then ended; sessions ended also counts those cut short by the stop or an error. Requests in flight at the stop were cut and are neither replies nor errors.`,
    '',
    '## Leak verdict',
    '',
    'Medians of the first and last quarter of the samples after a 10 % warm-up (first → last: growth). "grows" when the heap grows by more than 20 %, or handles or fds by more than 10, and the last quarter is still above the middle half (↑); RSS is shown, not judged (bench/leak-verdict.ts).',
    '',
    '| process | verdict | heap MB | RSS MB | active handles | open fds |',
    '| --- | --- | --- | --- | --- | --- |',
    ...PROCESSES.map((p) => {
      const v = r.verdicts[p];
      return `| ${p} | **${v.verdict}**${v.growing.length ? ` (${v.growing.join(', ')})` : ''} | ${trendCell(v, 'heapMb', 1)} | ${trendCell(v, 'rssMb', 1)} | ${trendCell(v, 'handles', 0)} | ${trendCell(v, 'fds', 0)} |`;
    }),
    '',
    '## Load generator, per window',
    '',
    '| t s | requests | req/s | replies | reply p50 ms | reply p99 ms | errors | webhook deliveries |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.windows.map(
      (w) =>
        `| ${f(w.t)} | ${w.requests} | ${f(w.perSecond, 1)} | ${w.replies} | ${f(w.p50)} | ${f(w.p99)} | ${w.errors} | ${w.deliveries} |`,
    ),
    '',
  ];
  for (const p of PROCESSES) {
    out.push(
      `## ${p}`,
      '',
      '| t s | RSS MB | heap used MB | active handles | open fds |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...r.processes[p].map(
        (s) =>
          `| ${f(s.t)} | ${f(s.rssMb, 1)} | ${f(s.heapMb, 1)} | ${f(s.handles)} | ${f(s.fds)} |`,
      ),
      '',
    );
  }
  return out.join('\n');
}

// ---- command line ----

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      /** Soak defaults: 1800 s, a sample every 30 s, no request bound. */
      soak: { type: 'boolean', default: false },
      users: { type: 'string', default: '20' },
      'messages-per-session': { type: 'string', default: '20' },
      duration: { type: 'string' },
      'max-requests': { type: 'string' },
      'sample-every': { type: 'string' },
      'reply-timeout': { type: 'string', default: '30' },
      output: { type: 'string' },
    },
  });
  const soak = args.soak;
  const num = (name: string, v: string | undefined, fallback: number, min: number) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n < min) {
      log(`--${name} must be a number ≥ ${min}`);
      process.exit(2);
    }
    return n;
  };
  const opts: LoadOptions = {
    soak,
    users: num('users', args.users, 20, 1),
    messagesPerSession: num('messages-per-session', args['messages-per-session'], 20, 1),
    durationSeconds: num('duration', args.duration, soak ? 1800 : 60, 1),
    maxRequests:
      args['max-requests'] !== undefined
        ? num('max-requests', args['max-requests'], 0, 1)
        : soak
          ? Infinity
          : 20_000,
    sampleEverySeconds: num('sample-every', args['sample-every'], soak ? 30 : 5, 1),
    replyTimeoutSeconds: num('reply-timeout', args['reply-timeout'], 30, 1),
    output: path.resolve(
      args.output ?? path.join(ROOT, 'bench', 'results', soak ? 'soak.md' : 'load.md'),
    ),
  };
  const command = [
    'npx tsx bench/load.ts',
    ...process.argv.slice(2).map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a))),
  ].join(' ');
  const bench = await startBenchStack({
    tokenTtlSeconds: opts.durationSeconds + opts.replyTimeoutSeconds + 600,
  });
  let result: LoadResult;
  try {
    result = await runLoad(bench, opts, command);
  } finally {
    await bench.stop();
  }
  const md = renderLoadReport(result);
  mkdirSync(path.dirname(opts.output), { recursive: true });
  writeFileSync(opts.output, md + '\n');
  const json = opts.output.replace(/\.md$/, '') + '.json';
  writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(md + '\n');
  log(
    `wrote ${path.relative(process.cwd(), opts.output)} and ${path.relative(process.cwd(), json)}`,
  );
}

if (require.main === module)
  runCli(() =>
    main().catch((err: unknown) => {
      if (err instanceof NotLoopback) {
        log(err.message);
        process.exit(2);
      }
      throw err;
    }),
  );
