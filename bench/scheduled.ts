/**
 * Scheduled sessions benchmark (issue 9, scenario c): many sessions booked ahead over the REST
 * API, waiting in their workflows, then starting themselves at their time.
 *
 *   npx tsx bench/scheduled.ts [--sessions 10000] [--concurrency 32] [--lead-seconds N]
 *     [--spread-seconds 120] [--window-seconds N] [--deadline 3600] [--history-sample 200] [--max-cached N] [--quick]
 *
 * Measures in one run:
 *   - creation: sessions/s and p50/p99 latency of POST /sessions with `scheduled_at`;
 *   - the session worker's RSS (/proc/<pid>/status VmRSS) and V8 heap (its /metrics) every
 *     second, by phase: before, creating, waiting, starting, after;
 *   - punctuality: `started_at` (the workflow's time when it started the session, as stored in
 *     the sessions collection and carried by `session.started`) minus `scheduled_at`, and when
 *     `session.started` reached a subscriber on NATS; p50/p95/p99/max and the share within 1 s;
 *   - for a sample of sessions, Temporal's part from their histories: TimerFired minus
 *     `scheduled_at`, and TimerFired to the worker picking up the task that follows.
 *
 * Lead: without `--lead-seconds`, a probe of 2 % of the sessions (at least 32) is booked first,
 * a day ahead (they wait with the rest but are left out of punctuality); its creation rate sets
 * the lead so the remaining sessions are all booked, with a margin, before the first is due.
 * Spread: the measured sessions are due evenly over `--spread-seconds`, i.e. n / spread starts
 * per second; each is judged against its own time, so a spread too short for the machine shows
 * up as growing lateness. 0 puts them all on one instant.
 * Window: only the sessions due in the first `--window-seconds` of the spread are judged; the
 * rest keep waiting. So 10,000 can wait while they come due at a rate the machine sustains,
 * without the run lasting until the last of them is due.
 *
 * `runScheduledBench` expects a fresh stack with no app processes on it: it starts the API and
 * the session and persona workers itself, since the worker's cache setting is part of the test.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { tsToMs } from '@temporalio/common/lib/time';
import { MongoClient } from 'mongodb';
import { connectTemporal } from '../lib/temporal';
import type { LifecycleEvent } from '../lib/schemas/events';
import { freePort } from '../scripts/stack/ports';
import {
  BENCH_DATABASE,
  createAdmin,
  createClient,
  httpClient,
  log,
  login,
  pct,
  startBenchStack,
  type BenchStack,
} from './harness';
import { sampleMemory, type ProcessSample } from './process-sampler';

export interface ScheduledOptions {
  sessions: number;
  /** Requests in flight while booking. */
  concurrency: number;
  /** Seconds from the end of the probe (or the start of booking) to the first due session; measured when absent. */
  leadSeconds?: number;
  spreadSeconds: number;
  /**
   * Seconds after the first due time during which starts are judged; sessions due later keep
   * waiting, untouched, until the stack is thrown away. The whole spread when absent. A window
   * shorter than the spread lets the population be large and the start rate one the machine
   * sustains, without waiting for every session to come due.
   */
  windowSeconds?: number;
  /** Seconds the whole scenario may take; what has not started by then counts as late. */
  deadlineSeconds: number;
  /** Sessions whose histories are read for Temporal's own timer lateness. */
  historySample: number;
  /** The session worker's `performance.workers.max_cached_workflows`; the default when absent. */
  maxCachedWorkflows?: number;
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface MemoryPhase {
  phase: 'before' | 'creating' | 'waiting' | 'starting' | 'after';
  samples: number;
  /** MB */
  rssPeak: number;
  rssMedian: number;
  heapUsedPeak?: number;
  heapUsedMedian?: number;
  /** Workflows in the worker's sticky cache at the phase's end, from the SDK's metrics. */
  stickyCache?: number;
}

export interface ScheduledResult {
  sessions: number;
  measured: number;
  probe: number;
  concurrency: number;
  leadSeconds: number;
  spreadSeconds: number;
  /** Seconds after the first due time in which starts were judged. */
  windowSeconds: number;
  /** Sessions due within the window: the ones punctuality is judged on. */
  judged: number;
  maxCachedWorkflows: number;
  creation: {
    ok: number;
    failed: number;
    perSecond: number;
    latencyMs: Distribution;
    /**
     * Not booked because booking reached their due time (the lead was too short, e.g. the
     * machine got busier after the probe): booking stops there, so the starts that are measured
     * do not compete with bookings and no time in the past is sent.
     */
    skipped: number;
    /** Seconds from the last booking to the first due session. */
    slackSeconds: number;
  };
  memory: MemoryPhase[];
  punctuality: {
    started: number;
    notStarted: number;
    /** started_at − scheduled_at (the workflow's clock), ms */
    lateMs: Distribution;
    within1s: number;
    within1sPct: number;
    /** session.started received on NATS − scheduled_at, ms */
    observedLateMs: Distribution;
    observedWithin1sPct: number;
  };
  temporal?: {
    /** TimerFired − scheduled_at, ms */
    timerLateMs: Distribution;
    /**
     * TimerStarted + its duration − scheduled_at, ms: the timer's own due time is late by this
     * much, since the workflow computes the duration from its task's time but Temporal starts
     * the timer when that task completes.
     */
    timerDueLateMs: Distribution;
    /** TimerFired − the timer's own due time, ms: the server's timer precision under load. */
    timerFireLagMs: Distribution;
    /** TimerFired → the next WorkflowTaskStarted (queueing and, for evicted workflows, replay fetch), ms */
    dispatchMs: Distribution;
  };
  loadAverage: { before: number[]; after: number[] };
}

const distribution = (xs: number[]): Distribution => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: pct(s, 50),
    p95: pct(s, 95),
    p99: pct(s, 99),
    max: s.length ? s[s.length - 1]! : NaN,
  };
};

/** Runs `fn(0..count-1)` with at most `concurrency` in flight, in index order. */
async function pool(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

type MemorySample = ProcessSample;

const phaseOf = (
  samples: MemorySample[],
  phase: MemoryPhase['phase'],
  from: number,
  to: number,
): MemoryPhase => {
  const inPhase = samples.filter((s) => s.at >= from && s.at < to);
  const rss = distribution(inPhase.map((s) => s.rssMb));
  const heaps = inPhase.flatMap((s) => (s.heapMb !== undefined ? [s.heapMb] : []));
  const heap = distribution(heaps);
  const caches = inPhase.flatMap((s) => (s.stickyCache !== undefined ? [s.stickyCache] : []));
  return {
    phase,
    samples: inPhase.length,
    rssPeak: rss.max,
    rssMedian: rss.p50,
    ...(heaps.length ? { heapUsedPeak: heap.max, heapUsedMedian: heap.p50 } : {}),
    ...(caches.length ? { stickyCache: caches[caches.length - 1]! } : {}),
  };
};

const toMs = (v: unknown): number =>
  v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;

export async function runScheduledBench(
  bench: BenchStack,
  opts: ScheduledOptions,
): Promise<ScheduledResult> {
  const deadlineAt = Date.now() + opts.deadlineSeconds * 1000;
  const loadBefore = os.loadavg();
  const [apiMetrics, sessionsMetrics, personasMetrics] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const maxCached =
    opts.maxCachedWorkflows ?? bench.config.performance.workers.max_cached_workflows;
  // Metrics on ports of this run's own: another stack's processes on the defaults must not collide.
  const [worker] = await Promise.all([
    bench.startChild('workers/session-worker.ts', 'sessions worker polling', {
      env: {
        SMARTSTEPS_METRICS__PORTS__SESSIONS: String(sessionsMetrics),
        SMARTSTEPS_PERFORMANCE__WORKERS__MAX_CACHED_WORKFLOWS: String(maxCached),
      },
    }),
    // Started sessions open with a persona reply, as in production: that load competes with
    // the starts that follow.
    bench.startChild('workers/persona-worker.ts', 'personas worker polling', {
      env: { SMARTSTEPS_METRICS__PORTS__PERSONAS: String(personasMetrics) },
    }),
    bench.startChild('api/server.ts', 'api listening', {
      env: { SMARTSTEPS_METRICS__PORTS__API: String(apiMetrics) },
    }),
  ]);
  const benchStart = Date.now();
  const stopSampling = sampleMemory(worker.pid!, `http://127.0.0.1:${sessionsMetrics}/metrics`);

  const token = await login(bench.base, await createAdmin(bench.stack.services.mongoUri));
  const http = httpClient(bench.base, token);
  const clientId = await createClient(http);

  // session.started as it reaches a subscriber; resolves `allStarted` once every measured one has.
  const nc = await connect({ servers: bench.stack.services.natsUrl });
  const arrived = new Map<string, number>();
  /** The sessions due within the window, whose starts are judged. */
  const measuredIds = new Set<string>();
  let measuredTotal = Infinity;
  let onAllStarted: () => void = () => {};
  const allStarted = new Promise<void>((resolve) => (onAllStarted = resolve));
  const countArrivals = () => {
    let n = 0;
    for (const id of measuredIds) if (arrived.has(id)) n++;
    return n;
  };
  const sub = nc.subscribe('ss.events.session.*.session.started');
  void (async () => {
    for await (const m of sub) {
      const evt = m.json<LifecycleEvent>();
      if (evt.event !== 'session.started') continue;
      arrived.set(evt.data.session_id, Date.now());
      if (arrived.size >= measuredTotal && countArrivals() >= measuredTotal) onAllStarted();
    }
  })();

  const latencies: number[] = [];
  let failed = 0;
  let skipped = 0;
  const book = async (scheduledAt: number): Promise<string | undefined> => {
    const t = performance.now();
    try {
      const s = await http<{ session_id: string }>('POST', '/sessions', {
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        goals: ['Benchmark'],
        // Long enough that no session ends itself during the run.
        duration_minutes: 480,
        scheduled_at: new Date(scheduledAt).toISOString(),
      });
      latencies.push(performance.now() - t);
      return s.session_id;
    } catch (err) {
      failed++;
      if (failed <= 5) log(`booking failed: ${(err as Error).message}`);
      return undefined;
    }
  };

  // ---- booking ----
  const creatingFrom = Date.now();
  let probe = 0;
  let leadSeconds = opts.leadSeconds;
  if (leadSeconds === undefined) {
    probe = Math.min(opts.sessions - 1, Math.max(32, Math.round(opts.sessions * 0.02)));
    const farAhead = Date.now() + 86_400_000;
    // The first half warms up connections and the worker's code paths; its pace would
    // understate the rate and overstate the lead, so only the second half is timed.
    const warmUp = Math.floor(probe / 2);
    await pool(warmUp, opts.concurrency, async () => void (await book(farAhead)));
    const t = Date.now();
    await pool(probe - warmUp, opts.concurrency, async () => void (await book(farAhead)));
    const rate = (probe - warmUp) / ((Date.now() - t) / 1000);
    // A third as much again as the probe's pace, for the slowdown as the population grows,
    // plus time for the memory of the waiting population to settle before the first start.
    leadSeconds = Math.ceil(((opts.sessions - probe) / rate) * 1.33) + 20;
    log(`probe: ${probe} sessions at ${rate.toFixed(1)}/s → lead ${leadSeconds} s`);
  }
  const measured = opts.sessions - probe;
  const firstDue = Date.now() + leadSeconds * 1000;
  const spreadMs = opts.spreadSeconds * 1000;
  const dueAt = (i: number) =>
    firstDue + (measured > 1 ? Math.round((spreadMs * i) / (measured - 1)) : 0);
  const windowMs = Math.min(spreadMs, (opts.windowSeconds ?? opts.spreadSeconds) * 1000);
  // The last judged due time: the window's end, or the last session's when the spread is shorter.
  const lastDue = Math.min(dueAt(measured - 1), firstDue + windowMs);
  const scheduled = new Map<string, number>();
  log(
    `booking ${measured} sessions due from ${new Date(firstDue).toISOString()} over ${opts.spreadSeconds} s; starts judged for ${windowMs / 1000} s`,
  );
  await pool(measured, opts.concurrency, async (i) => {
    const at = dueAt(i);
    if (skipped > 0 || at - Date.now() < 1000) {
      if (skipped++ === 0)
        log(`booking reached the due times at session ${i}: the rest are not booked`);
      return;
    }
    const id = await book(at);
    if (id) {
      scheduled.set(id, at);
      if (at <= lastDue) measuredIds.add(id);
    }
    if ((i + 1) % 1000 === 0) log(`  booked ${i + 1}`);
  });
  const creatingTo = Date.now();
  measuredTotal = measuredIds.size;
  if (countArrivals() >= measuredTotal) onAllStarted();
  const slackSeconds = (firstDue - creatingTo) / 1000;
  log(
    `booked in ${((creatingTo - creatingFrom) / 1000).toFixed(1)} s; ${slackSeconds.toFixed(1)} s to the first due`,
  );

  // ---- waiting and starting: until every measured session has started, or the grace is spent ----
  // A minute past the last due time (or the deadline) bounds the wait; what is missing then is
  // reported as not started.
  const waitUntil = Math.min(deadlineAt, lastDue + 60_000);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    allStarted,
    new Promise<void>(
      (resolve) => (timer = setTimeout(resolve, Math.max(0, waitUntil - Date.now()))),
    ),
  ]);
  clearTimeout(timer);
  const startsDoneAt = Date.now();
  log(`${countArrivals()}/${measuredTotal} session.started received`);

  // ---- started_at from the store: one scan ----
  const mongo = new MongoClient(bench.stack.services.mongoUri);
  await mongo.connect();
  const startedAt = new Map<string, number>();
  try {
    const cursor = mongo
      .db(BENCH_DATABASE)
      .collection<{ _id: string; started_at?: unknown }>('sessions')
      .find({ started_at: { $exists: true } }, { projection: { _id: 1, started_at: 1 } });
    for await (const doc of cursor)
      if (scheduled.has(doc._id)) startedAt.set(doc._id, toMs(doc.started_at));
  } finally {
    await mongo.close();
  }
  const late: number[] = [];
  const observed: number[] = [];
  for (const id of measuredIds) {
    const due = scheduled.get(id)!;
    const s = startedAt.get(id);
    if (s !== undefined) late.push(s - due);
    const a = arrived.get(id);
    if (a !== undefined) observed.push(a - due);
  }
  const within1s = late.filter((x) => x <= 1000).length;

  // ---- Temporal's part, from a sample of histories ----
  let temporalPart: ScheduledResult['temporal'];
  if (opts.historySample > 0 && Date.now() < deadlineAt) {
    const temporal = await connectTemporal(bench.config);
    try {
      const ids = [...measuredIds];
      const step = Math.max(1, Math.floor(ids.length / opts.historySample));
      const sample = ids.filter((_, i) => i % step === 0).slice(0, opts.historySample);
      const timerLate: number[] = [];
      const dispatch: number[] = [];
      const dueLate: number[] = [];
      const fireLag: number[] = [];
      await pool(sample.length, 8, async (i) => {
        const id = sample[i]!;
        const history = await temporal.client.workflow.getHandle(`session-${id}`).fetchHistory();
        const events = history.events ?? [];
        // The timer that brought the start is the last to fire before it: a start waits on a
        // coarse timer that fires early, then a precise one (workflows/session.ts).
        const start = startedAt.get(id) ?? Infinity;
        const fired = events.findLastIndex(
          (e) => e.timerFiredEventAttributes && tsToMs(e.eventTime) <= start,
        );
        if (fired < 0) return;
        const firedAt = tsToMs(events[fired]!.eventTime);
        timerLate.push(firedAt - scheduled.get(id)!);
        const startedId = events[fired]!.timerFiredEventAttributes!.startedEventId;
        const started = events.find((e) => String(e.eventId) === String(startedId));
        if (started?.timerStartedEventAttributes) {
          const due =
            tsToMs(started.eventTime) +
            tsToMs(started.timerStartedEventAttributes.startToFireTimeout);
          dueLate.push(due - scheduled.get(id)!);
          fireLag.push(firedAt - due);
        }
        const next = events.slice(fired).find((e) => e.workflowTaskStartedEventAttributes);
        if (next) dispatch.push(tsToMs(next.eventTime) - firedAt);
      });
      temporalPart = {
        timerLateMs: distribution(timerLate),
        timerDueLateMs: distribution(dueLate),
        timerFireLagMs: distribution(fireLag),
        dispatchMs: distribution(dispatch),
      };
    } finally {
      await temporal.close();
    }
  }

  const samples = stopSampling();
  await nc.close();
  return {
    sessions: opts.sessions,
    measured: scheduled.size,
    probe,
    concurrency: opts.concurrency,
    leadSeconds,
    spreadSeconds: opts.spreadSeconds,
    windowSeconds: windowMs / 1000,
    judged: measuredIds.size,
    maxCachedWorkflows: maxCached,
    creation: {
      ok: latencies.length,
      failed,
      perSecond: latencies.length / ((creatingTo - creatingFrom) / 1000),
      latencyMs: distribution(latencies),
      skipped,
      slackSeconds,
    },
    memory: [
      phaseOf(samples, 'before', benchStart, creatingFrom),
      phaseOf(samples, 'creating', creatingFrom, creatingTo),
      phaseOf(samples, 'waiting', creatingTo, firstDue),
      phaseOf(samples, 'starting', firstDue, Math.max(lastDue, startsDoneAt)),
      phaseOf(samples, 'after', Math.max(lastDue, startsDoneAt), Infinity),
    ],
    punctuality: {
      started: late.length,
      notStarted: measuredIds.size - late.length,
      lateMs: distribution(late),
      within1s,
      within1sPct: measuredIds.size ? (100 * within1s) / measuredIds.size : NaN,
      observedLateMs: distribution(observed),
      observedWithin1sPct: measuredIds.size
        ? (100 * observed.filter((x) => x <= 1000).length) / measuredIds.size
        : NaN,
    },
    ...(temporalPart ? { temporal: temporalPart } : {}),
    loadAverage: { before: loadBefore, after: os.loadavg() },
  };
}

// ---- report ----

const f = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
const dist = (d: Distribution) =>
  `p50 ${f(d.p50)} ms, p95 ${f(d.p95)} ms, p99 ${f(d.p99)} ms, max ${f(d.max)} ms (n ${d.n})`;

export function formatScheduledResult(r: ScheduledResult): string {
  const out: string[] = [];
  const la = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  out.push(
    `Scheduled sessions benchmark — ${new Date().toISOString()} — ${process.platform}, ${os.cpus().length} cores, load average before ${la(r.loadAverage.before)}, after ${la(r.loadAverage.after)}`,
  );
  out.push(
    `${r.sessions} sessions (${r.probe} probe sessions a day ahead, ${r.measured} measured), concurrency ${r.concurrency}, lead ${r.leadSeconds} s, due evenly over ${r.spreadSeconds} s (${r.spreadSeconds > 0 ? (r.measured / r.spreadSeconds).toFixed(1) : 'all'} starts/s), the ${r.judged} due in the first ${r.windowSeconds} s judged, max_cached_workflows ${r.maxCachedWorkflows}`,
  );
  out.push('');
  const c = r.creation;
  out.push(
    `Creation: ${c.ok} ok, ${c.failed} failed, ${f(c.perSecond, 1)} sessions/s; latency ${dist(c.latencyMs)}; ${c.skipped} not booked (booking reached their due time); ${f(c.slackSeconds, 1)} s from the last booking to the first due`,
  );
  out.push('');
  out.push(
    '| session worker | samples | RSS peak MB | RSS median MB | heap used peak MB | heap used median MB | sticky cache |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const m of r.memory)
    out.push(
      `| ${m.phase} | ${m.samples} | ${f(m.rssPeak)} | ${f(m.rssMedian)} | ${f(m.heapUsedPeak)} | ${f(m.heapUsedMedian)} | ${f(m.stickyCache)} |`,
    );
  out.push('');
  const p = r.punctuality;
  out.push(
    `Punctuality (started_at − scheduled_at): ${dist(p.lateMs)}; within 1 s: ${p.within1s}/${r.judged} = ${f(p.within1sPct, 2)} %; not started: ${p.notStarted}`,
  );
  out.push(
    `session.started received on NATS − scheduled_at: ${dist(p.observedLateMs)}; within 1 s: ${f(p.observedWithin1sPct, 2)} %`,
  );
  if (r.temporal) {
    out.push(`Temporal, TimerFired − scheduled_at: ${dist(r.temporal.timerLateMs)}`);
    out.push(
      `  of which the timer's own due time (TimerStarted + duration) − scheduled_at: ${dist(r.temporal.timerDueLateMs)}`,
    );
    out.push(`  and TimerFired − the timer's due time: ${dist(r.temporal.timerFireLagMs)}`);
    out.push(`Temporal, TimerFired → worker picks up the task: ${dist(r.temporal.dispatchMs)}`);
  }
  const worst = Math.max(...r.memory.map((m) => m.rssPeak).filter((x) => !Number.isNaN(x)));
  out.push('');
  out.push(
    `Targets: worker RSS < 500 MB: ${worst < 500 ? 'met' : `missed by ${f(worst - 500)} MB`} (peak ${f(worst)} MB); ≥ 99 % within 1 s: ${p.within1sPct >= 99 ? 'met' : `missed by ${f(99 - p.within1sPct, 2)} points`} (${f(p.within1sPct, 2)} %)`,
  );
  return out.join('\n') + '\n';
}

// ---- command line ----

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      sessions: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '32' },
      'lead-seconds': { type: 'string' },
      'spread-seconds': { type: 'string', default: '120' },
      'window-seconds': { type: 'string' },
      deadline: { type: 'string', default: '3600' },
      'history-sample': { type: 'string', default: '200' },
      'max-cached': { type: 'string' },
      /** 300 sessions over 20 s: checks the whole path in a couple of minutes. */
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const opts: ScheduledOptions = {
    sessions: args.quick ? 300 : Number(args.sessions),
    concurrency: Number(args.concurrency),
    ...(args['lead-seconds'] !== undefined ? { leadSeconds: Number(args['lead-seconds']) } : {}),
    spreadSeconds: args.quick ? 20 : Number(args['spread-seconds']),
    ...(args['window-seconds'] !== undefined
      ? { windowSeconds: Number(args['window-seconds']) }
      : {}),
    deadlineSeconds: Number(args.deadline),
    historySample: Number(args['history-sample']),
    ...(args['max-cached'] !== undefined ? { maxCachedWorkflows: Number(args['max-cached']) } : {}),
  };
  const bench = await startBenchStack({ tokenTtlSeconds: opts.deadlineSeconds + 600 });
  try {
    const result = await runScheduledBench(bench, opts);
    process.stdout.write(
      args.json ? JSON.stringify(result, null, 2) + '\n' : formatScheduledResult(result),
    );
  } finally {
    await bench.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
