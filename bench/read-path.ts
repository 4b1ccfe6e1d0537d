/**
 * Read-path benchmark: how close the real session reads come to what Koa and the database alone
 * allow.
 *
 *   npm run bench:read-path -- [--connections 16] [--warmup 2] [--duration 5] [--rounds 3]
 *                              [--cases a,b,c,b-list,d] [--accept-encoding gzip] [--profile DIR]
 *
 * One throw-away stack (Temporal, NATS, FerretDB); the API, a session worker and a persona worker
 * as child processes, as in production; realistic data seeded through the API (one client with
 * ~20 sessions: some scheduled, some active, some completed, with messages, persona replies,
 * facilitator notes, summaries and insights); then, in the same run, requests/s and latency at a
 * fixed concurrency for:
 *
 *   a       a bare Koa route returning a small JSON body           (bench/bare-server.ts)
 *   b       a bare Koa route doing sessions.findOne({ _id })        (bench/bare-server.ts)
 *   b-list  a bare Koa route doing the list's one sessions.find(…)  (bench/bare-server.ts)
 *   c       GET /api/v1/sessions/{id} through the real API, JWT and every middleware included
 *   d       GET /api/v1/sessions?client_id=… through the real API
 *
 * Each server under test is its own Node process. The target is (c) ≥ 70% of (b) and
 * (d) ≥ 70% of (b-list) in requests/s. Each round measures every case once, a real route right
 * after its baseline, in alternating order; ratios are the median of the per-round ratios, so a
 * machine whose load drifts (other jobs, the stack's own timers) skews them less. The CPU columns
 * say where the time went: FerretDB, the server under test, the load generator, and the whole
 * machine (other processes included). Bounded by --deadline; loopback only.
 */
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  createClient,
  log,
  runCli,
  startBenchApp,
  startBenchStack,
  type BenchApp,
  type Http,
} from './harness';

/** Real routes are judged against this share of their baseline's requests/s. */
export const READ_PATH_TARGET = 0.7;
/** Linux reports process CPU time in clock ticks, 100 a second (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** CPU used during a measurement, in cores (1 = one core busy the whole time). */
interface CpuUse {
  ferretdb?: number;
  server?: number;
  loadGenerator: number;
  machine?: number;
}

export interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  cpu: CpuUse;
}

export interface Case {
  key: string;
  what: string;
  url: string;
  headers: Record<string, string>;
  /** The process serving it. */
  pid: number;
  /** The case this one is compared with. */
  baseline?: string;
  /** Judged against READ_PATH_TARGET (the real routes). */
  target?: boolean;
  results: Measurement[];
  bytes?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** utime + stime of a process in ticks, where /proc exists. */
function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start with field 3, the state.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Busy ticks of the whole machine, all cores together. */
function machineTicks(): number | undefined {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
    return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  } catch {
    return undefined;
  }
}

/** How each measurement loads a server. */
export interface LoadShape {
  connections: number;
  /** Seconds of load before each measurement, not counted. */
  warmup: number;
  /** Seconds per measurement. */
  duration: number;
}

async function load(
  c: Case,
  seconds: number,
  ferretdbPid: number,
  connections: number,
): Promise<Measurement> {
  const before = {
    ferretdb: processTicks(ferretdbPid),
    server: processTicks(c.pid),
    machine: machineTicks(),
    self: process.cpuUsage(),
    at: performance.now(),
  };
  const result = await autocannon({
    url: c.url,
    connections,
    duration: seconds,
    headers: c.headers,
    timeout: 10,
  });
  const wall = (performance.now() - before.at) / 1000;
  const cores = (a?: number, b?: number) =>
    a === undefined || b === undefined ? undefined : (b - a) / TICKS_PER_SECOND / wall;
  const self = process.cpuUsage(before.self);
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    cpu: {
      ferretdb: cores(before.ferretdb, processTicks(ferretdbPid)),
      server: cores(before.server, processTicks(c.pid)),
      loadGenerator: (self.user + self.system) / 1e6 / wall,
      machine: cores(before.machine, machineTicks()),
    },
  };
}

interface Seeded {
  clientId: string;
  /** A completed session with messages, notes, a summary and insights. */
  detailId: string;
}

/**
 * One client with `sessionCount` sessions, booked through the API so the session workflows write
 * their documents: a few stay scheduled; the rest start (the persona opens), exchange messages,
 * some get facilitator notes, half end (summary and insights follow).
 */
export async function seed(
  http: Http,
  { sessionCount, messagesPerSession }: { sessionCount: number; messagesPerSession: number },
): Promise<Seeded> {
  const clientId = await createClient(http, 'Read-path');
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
  const scheduled = Math.max(1, Math.round(sessionCount / 5));
  const ids: string[] = [];
  for (let i = 0; i < sessionCount; i += 5) {
    const batch = Array.from({ length: Math.min(5, sessionCount - i) }, (_, k) => i + k);
    ids.push(
      ...(await Promise.all(
        batch.map(async (n) => {
          const s = await http<{ session_id: string; status: string }>('POST', '/sessions', {
            client_id: clientId,
            persona_id: 'dr_morgan_hayes',
            goals: ['Explore coping strategies', 'Discuss recent progress'],
            duration_minutes: 45,
            ...(n < scheduled ? { scheduled_at: tomorrow } : {}),
            metadata: { session_number: n + 1, location: 'virtual' },
          });
          return s.session_id;
        }),
      )),
    );
  }
  const started = ids.slice(scheduled);
  const completed = started.slice(0, Math.ceil(started.length / 2));
  log(
    `seeding: ${ids.length} sessions, ${started.length} started, ${messagesPerSession} messages each`,
  );

  const lines = [
    "I've been feeling a bit stressed about work.",
    'Meetings make me anxious, especially when I have to present.',
    'I tried the breathing exercise before a call and it helped a little.',
    'Sleep has been uneven this week, I keep waking up at 4 am.',
    'My manager noticed I was quieter than usual.',
    'I would like to feel more in control before social events.',
  ];
  const converse = async (id: string, index: number) => {
    const s = await http<{ status: string }>('GET', `/sessions/${id}`);
    if (s.status === 'scheduled') await http('POST', `/sessions/${id}/start`);
    for (let m = 0; m < messagesPerSession; m++) {
      const msg = await http<{ id: string }>('POST', `/sessions/${id}/messages`, {
        content: lines[(index + m) % lines.length],
      });
      await waitForReply(http, id, msg.id);
    }
    if (index % 3 === 0 || completed[0] === id) {
      await http('POST', `/sessions/${id}/notes`, {
        content: 'Client appeared more relaxed than last session.',
      });
      await http('POST', `/sessions/${id}/notes`, {
        content: 'Follow up on sleep routine next time.',
      });
    }
    if (completed.includes(id)) await http('POST', `/sessions/${id}/end`);
  };
  for (let i = 0; i < started.length; i += 4) {
    await Promise.all(started.slice(i, i + 4).map((id, k) => converse(id, i + k)));
  }

  // The analysis (summary, insights) of an ended session arrives a little later; wait for all of
  // them, so none is still running while the reads are measured.
  const until = Date.now() + 60_000;
  for (const id of completed) {
    while (Date.now() < until) {
      const s = await http<{ summary?: string }>('GET', `/sessions/${id}`);
      if (s.summary) break;
      await sleep(250);
    }
  }
  const detailId = completed[0]!;
  return { clientId, detailId };
}

async function waitForReply(http: Http, sessionId: string, messageId: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const page = await http<{
      messages: Array<{ sender_type: string; metadata?: { in_reply_to?: string[] } }>;
    }>('GET', `/sessions/${sessionId}/messages?limit=100`);
    const answered = page.messages.some(
      (m) => m.sender_type === 'persona' && m.metadata?.in_reply_to?.includes(messageId),
    );
    if (answered) return;
    await sleep(50);
  }
  throw new Error(`no persona reply to ${messageId} in 60 s`);
}

function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

export interface ReadPathOptions extends LoadShape {
  /** Measure every case this many times; medians are reported. */
  rounds: number;
  sessions: number;
  /** Client messages per started session (each answered by the persona). */
  messages: number;
  /** Only these cases, e.g. `['c', 'd']` while profiling the API. */
  cases: string[];
  /** Sent on every request when given (e.g. gzip), so response compression is measured too. */
  acceptEncoding?: string;
  /** No new round starts after it (ms since the epoch). */
  deadlineAt: number;
}

export interface ReadPathResult {
  cases: Case[];
  /** Rounds completed. */
  rounds: number;
}

/** Seeds realistic data, then measures the cases in rounds (see the top of this file). */
export async function runReadPath(app: BenchApp, opts: ReadPathOptions): Promise<ReadPathResult> {
  const { bench, token, http } = app;
  const seeded = await seed(http, {
    sessionCount: Math.max(4, opts.sessions),
    messagesPerSession: opts.messages,
  });
  const bare = await app.bareServer();
  const ferretdb = ferretdbPid(app);
  const encoding: Record<string, string> = opts.acceptEncoding
    ? { 'Accept-Encoding': opts.acceptEncoding }
    : {};
  const authorized = { ...encoding, Authorization: `Bearer ${token}` };
  const listQuery = `client_id=${encodeURIComponent(seeded.clientId)}`;
  // In measuring order: each real route right after its baseline.
  const allCases: Case[] = [
    {
      key: 'a',
      what: 'bare Koa route, small JSON',
      url: `${bare.url}/plain`,
      headers: encoding,
      pid: bare.pid,
      results: [],
    },
    {
      key: 'b',
      what: 'bare Koa route, sessions.findOne({_id})',
      url: `${bare.url}/sessions/${seeded.detailId}`,
      headers: encoding,
      pid: bare.pid,
      baseline: 'a',
      results: [],
    },
    {
      key: 'c',
      what: 'API GET /api/v1/sessions/{id}',
      url: `${bench.base}/sessions/${seeded.detailId}`,
      headers: authorized,
      pid: app.api.pid!,
      baseline: 'b',
      target: true,
      results: [],
    },
    {
      key: 'b-list',
      what: 'bare Koa route, sessions.find({client_id}) page',
      url: `${bare.url}/sessions?${listQuery}`,
      headers: encoding,
      pid: bare.pid,
      baseline: 'a',
      results: [],
    },
    {
      key: 'd',
      what: 'API GET /api/v1/sessions?client_id=…',
      url: `${bench.base}/sessions?${listQuery}`,
      headers: authorized,
      pid: app.api.pid!,
      baseline: 'b-list',
      target: true,
      results: [],
    },
  ];
  const wanted = new Set(opts.cases);
  const cases = allCases.filter((c) => wanted.has(c.key));
  if (cases.length === 0) throw new Error(`--cases: none of ${opts.cases.join(',')} is a case`);
  await checkCases(cases);
  await logSeeded(http, seeded, listQuery);

  let done = 0;
  const roundSeconds = cases.length * (opts.warmup + opts.duration);
  for (let r = 0; r < opts.rounds; r++) {
    if (r > 0 && Date.now() + roundSeconds * 1000 > opts.deadlineAt) break;
    // Alternate the order so drift in the machine's load does not favour one side.
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const m = await measure(c, opts, ferretdb);
      c.results.push(m);
      log(
        `round ${r + 1} ${c.key}: ${m.rps.toFixed(0)} req/s, p99 ${m.p99} ms${m.failures ? `, ${m.failures} failures` : ''}`,
      );
    }
    done++;
  }
  return { cases, rounds: done };
}

function ferretdbPid(app: BenchApp): number {
  return app.bench.stack.services.processes.find((p) => p.name === 'ferretdb')!.pid;
}

/** A warm-up (not counted), then one measurement. */
async function measure(c: Case, shape: LoadShape, ferretdb: number): Promise<Measurement> {
  if (shape.warmup > 0) await load(c, shape.warmup, ferretdb, shape.connections);
  return load(c, shape.duration, ferretdb, shape.connections);
}

/**
 * Every URL answers 200 before it is loaded; records its body size as sent (node:http does not
 * decompress, unlike fetch).
 */
async function checkCases(cases: Case[]): Promise<void> {
  for (const c of cases) {
    const { status, body } = await rawGet(c.url, c.headers);
    if (status !== 200) throw new Error(`${c.key}: ${c.url} → ${status} ${body.toString()}`);
    c.bytes = body.length;
  }
}

/** Shows that the real reads carry what they should. */
async function logSeeded(http: Http, seeded: Seeded, listQuery: string): Promise<void> {
  const details = await http<{
    messages: unknown[];
    facilitator_notes: unknown[];
    insights?: unknown[];
    summary?: string;
  }>('GET', `/sessions/${seeded.detailId}`);
  const list = await http<{ sessions: unknown[]; pagination: { total: number } }>(
    'GET',
    `/sessions?${listQuery}`,
  );
  log(
    `session ${seeded.detailId}: ${details.messages.length} messages, ${details.facilitator_notes.length} notes, ` +
      `summary ${details.summary ? 'yes' : 'no'}, ${details.insights?.length ?? 0} insights; ` +
      `list: ${list.sessions.length} of ${list.pagination.total}`,
  );
}

/** The bare floors: a Koa route alone, and the same with one sessions.findOne({ _id }). */
export interface BareFloors {
  koa: Measurement;
  mongo: Measurement;
}

/**
 * Cases a and b once each, without the seeding: one booked session is enough for findOne by _id
 * (the document is found by its key, so the collection's size hardly matters).
 */
export async function measureBareFloors(app: BenchApp, shape: LoadShape): Promise<BareFloors> {
  const clientId = await createClient(app.http, 'Floor');
  const session = await app.http<{ session_id: string }>('POST', '/sessions', {
    client_id: clientId,
    persona_id: 'sam_taylor',
    scheduled_at: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const bare = await app.bareServer();
  const ferretdb = ferretdbPid(app);
  const koa: Case = {
    key: 'a',
    what: '',
    url: `${bare.url}/plain`,
    headers: {},
    pid: bare.pid,
    results: [],
  };
  const mongo: Case = {
    key: 'b',
    what: '',
    url: `${bare.url}/sessions/${session.session_id}`,
    headers: {},
    pid: bare.pid,
    results: [],
  };
  await checkCases([koa, mongo]);
  return { koa: await measure(koa, shape, ferretdb), mongo: await measure(mongo, shape, ferretdb) };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      connections: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '2' },
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      sessions: { type: 'string', default: '20' },
      messages: { type: 'string', default: '5' },
      cases: { type: 'string', default: 'a,b,c,b-list,d' },
      'accept-encoding': { type: 'string' },
      /** Overall bound in seconds: no new round starts after it. */
      deadline: { type: 'string', default: '900' },
      /** Write a V8 CPU profile of the app processes and of the bare server into this folder. */
      profile: { type: 'string' },
    },
  });
  const opts: ReadPathOptions = {
    connections: Number(args.connections),
    warmup: Number(args.warmup),
    duration: Number(args.duration),
    rounds: Math.max(1, Number(args.rounds)),
    sessions: Number(args.sessions),
    messages: Number(args.messages),
    cases: args.cases.split(',').map((k) => k.trim()),
    acceptEncoding: args['accept-encoding'],
    deadlineAt: Date.now() + Number(args.deadline) * 1000,
  };
  const bench = await startBenchStack({ tokenTtlSeconds: Number(args.deadline) + 600 });
  try {
    const app = await startBenchApp(bench, args.profile ? { profile: args.profile } : {});
    const result = await runReadPath(app, opts);
    process.stdout.write(report(result, opts) + '\n');
  } finally {
    await bench.stop();
  }
}

/** Median requests/s of a case over its rounds. */
export const medianRps = (c: Case) => median(c.results.map((m) => m.rps));

/** Median of the per-round ratios of `c` to `base` (rounds measured both back to back). */
export const rpsRatio = (c: Case, base: Case) =>
  median(c.results.map((m, r) => m.rps / (base.results[r]?.rps ?? NaN)).filter(Number.isFinite));

/** The CLI's report, as it always printed it. */
function report({ cases, rounds: done }: ReadPathResult, opts: ReadPathOptions): string {
  const byKey = new Map(cases.map((c) => [c.key, c]));
  const rps = medianRps;
  const p99 = (c: Case) => median(c.results.map((m) => m.p99));
  const ratio = rpsRatio;
  const cores = (c: Case, pick: (u: CpuUse) => number | undefined) => {
    const xs = c.results.map((m) => pick(m.cpu)).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs).toFixed(2) : '–';
  };
  const out: string[] = [];
  const cpu = os.cpus();
  out.push(
    `Read-path benchmark — ${new Date().toISOString()} — ${process.platform}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  out.push(
    `${opts.connections} connections, ${opts.warmup} s warm-up + ${opts.duration} s per measurement, ${done} round(s), medians; ` +
      `Accept-Encoding: ${opts.acceptEncoding ?? '(none)'}. The load generator, the servers, FerretDB, ` +
      `Temporal and NATS share the machine.`,
  );
  out.push('');
  out.push(
    '| case | what | req/s | p50 ms | p99 ms | body bytes (wire) | failures | vs baseline | CPU cores: FerretDB | server | load gen | machine |',
  );
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const c of cases) {
    const base = c.baseline ? byKey.get(c.baseline) : undefined;
    const vs = base ? `${(100 * ratio(c, base)).toFixed(0)}% of ${base.key}` : '';
    out.push(
      `| ${c.key} | ${c.what} | ${rps(c).toFixed(0)} | ${median(c.results.map((m) => m.p50)).toFixed(1)} | ${p99(c).toFixed(1)} | ${c.bytes} | ${c.results.reduce((n, m) => n + m.failures, 0)} | ${vs} | ` +
        `${cores(c, (u) => u.ferretdb)} | ${cores(c, (u) => u.server)} | ${cores(c, (u) => u.loadGenerator)} | ${cores(c, (u) => u.machine)} |`,
    );
  }
  out.push('');
  for (const c of cases) {
    const failures = c.results.reduce((n, m) => n + m.failures, 0);
    const flag = failures ? ` — ${failures} failed requests` : '';
    const base = c.baseline ? byKey.get(c.baseline) : undefined;
    const own = `${rps(c).toFixed(0)} req/s, p99 ${p99(c).toFixed(1)} ms`;
    if (c.target && !base) {
      out.push(`${c.key}: not judged — ${own}; its baseline ${c.baseline} was not measured${flag}`);
    } else if (c.target && base) {
      const r = ratio(c, base);
      out.push(
        `${c.key}: ${r >= READ_PATH_TARGET && !failures ? 'MEETS' : 'MISSES'} the target — ${own} = ${(100 * r).toFixed(0)}% of ${base.key} ` +
          `(${rps(base).toFixed(0)} req/s, p99 ${p99(base).toFixed(1)} ms); target ≥ ${100 * READ_PATH_TARGET}%${flag}`,
      );
    } else if (base) {
      out.push(
        `${c.key}: baseline — ${own}; the database read takes ${(100 * (1 - ratio(c, base))).toFixed(0)}% off ${base.key}'s throughput${flag}`,
      );
    } else {
      out.push(`${c.key}: baseline — ${own}: the ceiling for a Koa route on this machine${flag}`);
    }
  }
  return out.join('\n');
}

if (require.main === module) runCli(main);
