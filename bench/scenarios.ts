/**
 * The scenarios `npm run bench` runs, in order, each on the one stack of the run and judged
 * against the floors measured at its start. A scenario is a key, a title and a `run` that returns
 * tables and verdicts; adding one (such as (c), 10,000 scheduled sessions, from
 * bench/scheduled.ts) is one entry in SCENARIOS.
 */
import { cpuTable } from './cpu';
import type { Floors } from './floors';
import { pct, startBenchStack, type BenchApp } from './harness';
import { READ_PATH_TARGET, medianRps, rpsRatio, runReadPath, type Case } from './read-path';
import { runScheduledBench, type Distribution } from './scheduled';
import { runSessionLength, runTurnaround, type Checkpoint, type TurnaroundRow } from './turnaround';
import { runWebhooks } from './webhooks';
import { runWsFanout } from './ws-fanout';

export interface ScenarioContext {
  app: BenchApp;
  floors: Floors;
  /** Small counts: the run finishes in a few minutes (for checking the harness, not figures). */
  quick: boolean;
  /** The whole run's end (ms since the epoch): no scenario starts new work after it. */
  deadlineAt: number;
  /** `--sessions`: concurrencies for (a); undefined for the scenario's own. */
  sessions?: number[];
  /** `--checkpoints`: messages at which (b) reports latency; undefined for its own. */
  checkpoints?: number[];
}

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
}

export interface Verdict {
  /** The target in words, e.g. "turnaround p50 at 10 sessions ≤ 2x the no-op Update floor". */
  target: string;
  /** undefined: not measured in this run (deadline, --sessions, --checkpoints). */
  meets?: boolean;
  /** The measured figure against the target, and by how much it meets or misses it. */
  detail: string;
}

export interface ScenarioOutcome {
  tables: Table[];
  verdicts: Verdict[];
  notes: string[];
  /** Everything measured, for bench/results/latest.json. */
  raw: unknown;
  /** Turnaround against concurrency, for the latency-vs-load plot (scenario a only). */
  loadCurve?: TurnaroundRow[];
}

export interface Scenario {
  key: string;
  title: string;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const x = (n: number) => `${n.toFixed(2)}x`;
const percent = (n: number) => `${(100 * n).toFixed(0)}%`;

/** Judges `actual ≤ limit`: the margin is the share of the limit left, or by which it is passed. */
export function atMost(target: string, actual: number, limit: number, show: (n: number) => string) {
  const margin = Math.abs(limit - actual) / limit;
  const meets = actual <= limit;
  return {
    target,
    meets,
    detail: `${show(actual)} against ≤ ${show(limit)}: ${percent(margin)} ${meets ? 'under' : 'over'} the limit`,
  };
}

/** Judges `actual ≥ limit`: the margin is the share above the limit, or short of it. */
export function atLeast(
  target: string,
  actual: number,
  limit: number,
  show: (n: number) => string,
) {
  const margin = Math.abs(actual - limit) / limit;
  const meets = actual >= limit;
  return {
    target,
    meets,
    detail: `${show(actual)} against ≥ ${show(limit)}: ${percent(margin)} ${meets ? 'above' : 'short of'} the target`,
  };
}

const notMeasured = (target: string, why: string): Verdict => ({ target, detail: why });

const turnaround: Scenario = {
  key: 'a',
  title: 'Turnaround against concurrent sessions',
  async run(ctx) {
    const perSession = ctx.quick ? 5 : 20;
    const rows = await runTurnaround(ctx.app, {
      concurrencies: ctx.sessions ?? (ctx.quick ? [1, 5, 10] : [1, 10, 100, 500]),
      perSession,
      deadlineAt: ctx.deadlineAt,
      processes: () => ctx.app.bench.processes(),
    });
    const floor = ctx.floors.update;
    const table: Table = {
      title: `client message → persona reply event, closed loop, ${perSession} messages per session`,
      head: [
        'sessions',
        'replies',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'msg/s',
        'p50 / floor p50',
        'floor p50 ms',
        'POST accepted p50 ms',
        'failed turns',
      ],
      rows: rows.map((r) => [
        String(r.sessions),
        String(r.n),
        ms(r.p50),
        ms(r.p95),
        ms(r.p99),
        r.perSecond.toFixed(1),
        x(r.p50 / floor.p50),
        ms(floor.p50),
        ms(r.acceptedP50),
        String(r.failed),
      ]),
    };
    return {
      tables: [table, ...cpuTable(rows)],
      verdicts: turnaroundVerdicts(rows, floor.p50),
      notes: [],
      raw: rows,
      loadCurve: rows,
    };
  },
};

function turnaroundVerdicts(rows: TurnaroundRow[], floorP50: number): Verdict[] {
  const at = (n: number) => rows.find((r) => r.sessions === n);
  const ten = at(10);
  const hundred = at(100);
  const missing = (n: number) => `${n} sessions not measured in this run`;
  const closeToFloor = 'turnaround p50 at 10 sessions within 2x of the no-op Update floor p50';
  const throughput = 'at least 200 msg/s at 100 sessions';
  const tail = 'p99 under 500 ms at 100 sessions';
  return [
    ten ? atMost(closeToFloor, ten.p50 / floorP50, 2, x) : notMeasured(closeToFloor, missing(10)),
    hundred
      ? atLeast(throughput, hundred.perSecond, 200, (n) => `${n.toFixed(0)} msg/s`)
      : notMeasured(throughput, missing(100)),
    hundred
      ? atMost(tail, hundred.p99, 500, (n) => `${ms(n)} ms`)
      : notMeasured(tail, missing(100)),
  ];
}

const sessionLength: Scenario = {
  key: 'b',
  title: 'Latency against session length (one session)',
  async run(ctx) {
    const checkpoints = ctx.checkpoints ?? (ctx.quick ? [10, 50] : [10, 100, 1000, 5000]);
    const result = await runSessionLength(ctx.app, { checkpoints, deadlineAt: ctx.deadlineAt });
    const first = result.checkpoints.find((c) => c.message === 10) ?? result.checkpoints[0];
    const last = result.checkpoints.at(-1);
    const table: Table = {
      title: `p50 of the 20 turns around each message; ${result.reached} messages sent`,
      head: ['message', 'p50 ms', `vs message ${first?.message ?? '–'}`, 'floor p50 ms'],
      rows: result.checkpoints.map((c) => [
        String(c.message),
        ms(c.p50),
        first ? x(c.p50 / first.p50) : '–',
        ms(ctx.floors.update.p50),
      ]),
    };
    const verdict = sessionLengthVerdict(Math.max(...checkpoints), result.reached, first, last);
    const skipped = checkpoints.filter((c) => c > result.reached);
    const notes = skipped.length
      ? [`checkpoints ${skipped.join(', ')} not reached before the deadline`]
      : [];
    return { tables: [table], verdicts: [verdict], notes, raw: result };
  },
};

/** The target is stated for message 5,000; a run that stopped short is judged where it got to. */
function sessionLengthVerdict(
  wanted: number,
  reached: number,
  first?: Checkpoint,
  last?: Checkpoint,
): Verdict {
  const target = `latency at message ${wanted} within 1.2x of message ${first?.message ?? 10}`;
  if (!first || !last || last === first) {
    return notMeasured(target, `only ${reached} messages sent before the deadline`);
  }
  const verdict = atMost(target, last.p50 / first.p50, 1.2, x);
  if (last.message === wanted) return verdict;
  return { ...verdict, detail: `at message ${last.message}, the last reached: ${verdict.detail}` };
}

/** Scheduled starts a second in the full (c): what this 2-core machine sustains (bench/changes.md). */
const START_RATE = 8;
const START_WINDOW_SECONDS = 240;

/**
 * (c) runs on a throw-away stack of its own: it starts its own API and workers (the session
 * worker's cache is part of what is measured), and the 10,000 sessions it books must not wait
 * in, or start on, the stack the other scenarios measure.
 */
const scheduledSessions: Scenario = {
  key: 'c',
  title: 'Scheduled sessions: booking, worker memory while they wait, punctuality',
  async run(ctx) {
    // All 10,000 wait; they come due evenly at START_RATE a second (each with its persona's
    // opening reply), a pace this machine keeps up with, and the starts in the first
    // START_WINDOW_SECONDS are judged. Judging all 10,000 at that pace would take 20 minutes
    // more; asking for them all within 10 minutes (16/s) measured the machine's backlog, not its
    // punctuality (bench/changes.md).
    const opts = ctx.quick
      ? { sessions: 300, spreadSeconds: 20 }
      : {
          sessions: 10_000,
          spreadSeconds: Math.round(10_000 / START_RATE),
          windowSeconds: START_WINDOW_SECONDS,
        };
    const deadlineSeconds = Math.max(60, Math.floor((ctx.deadlineAt - Date.now()) / 1000));
    const bench = await startBenchStack({ tokenTtlSeconds: deadlineSeconds + 600 });
    let r;
    try {
      r = await runScheduledBench(bench, {
        ...opts,
        concurrency: 32,
        deadlineSeconds,
        historySample: ctx.quick ? 50 : 200,
      });
    } finally {
      await bench.stop();
    }
    const dist = (d: Distribution) => [ms(d.p50), ms(d.p95), ms(d.p99), ms(d.max)];
    const p = r.punctuality;
    const tables: Table[] = [
      {
        title: `${r.sessions} sessions booked over REST (${r.probe} of them a day ahead, to size the lead), ${r.concurrency} requests in flight`,
        head: ['booked', 'failed', 'sessions/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
        rows: [
          [
            String(r.creation.ok),
            String(r.creation.failed),
            r.creation.perSecond.toFixed(1),
            ...dist(r.creation.latencyMs),
          ],
        ],
      },
      {
        title: `session worker memory by phase (max_cached_workflows ${r.maxCachedWorkflows}); RSS from /proc, heap from its /metrics`,
        head: [
          'phase',
          'samples',
          'RSS peak MB',
          'RSS median MB',
          'heap used peak MB',
          'sticky cache',
        ],
        rows: r.memory.map((m) => [
          m.phase,
          String(m.samples),
          ms(m.rssPeak),
          ms(m.rssMedian),
          m.heapUsedPeak === undefined ? '–' : ms(m.heapUsedPeak),
          m.stickyCache === undefined ? '–' : String(m.stickyCache),
        ]),
      },
      {
        title: `${r.measured} sessions due evenly over ${r.spreadSeconds} s (${(r.measured / Math.max(1, r.spreadSeconds)).toFixed(1)} starts/s); the ${r.judged} due in the first ${r.windowSeconds} s judged: lateness after their scheduled time`,
        head: ['measure', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
        rows: [
          ['started_at − scheduled_at (workflow clock)', String(p.lateMs.n), ...dist(p.lateMs)],
          [
            'session.started on NATS − scheduled_at',
            String(p.observedLateMs.n),
            ...dist(p.observedLateMs),
          ],
          ...(r.temporal
            ? [
                [
                  'Temporal: TimerFired − scheduled_at (sample)',
                  String(r.temporal.timerLateMs.n),
                  ...dist(r.temporal.timerLateMs),
                ],
                [
                  'Temporal: TimerFired → worker takes the task (sample)',
                  String(r.temporal.dispatchMs.n),
                  ...dist(r.temporal.dispatchMs),
                ],
              ]
            : []),
        ],
      },
    ];
    // While they wait: from the first booking to the first due time.
    const waiting = r.memory.filter((m) => m.phase === 'creating' || m.phase === 'waiting');
    const peak = Math.max(...waiting.map((m) => m.rssPeak).filter((n) => Number.isFinite(n)));
    const full = r.sessions >= 10_000;
    const verdicts: Verdict[] = [
      atMost(
        `session worker RSS below 500 MB while ${r.sessions} scheduled sessions wait`,
        peak,
        500,
        (n) => `${n.toFixed(0)} MB`,
      ),
      atLeast(
        `at least 99% of the ${r.judged} scheduled sessions due in ${r.windowSeconds} s (${r.sessions} waiting) started within 1 s of their time`,
        p.within1sPct,
        99,
        (n) => `${n.toFixed(2)}%`,
      ),
    ];
    const notes = [
      `${r.measured - r.judged} still waiting, due after the judged window; ${p.notStarted} of the judged not started by the end of the wait; ${r.creation.skipped} not booked because booking reached their due time`,
      ...(full ? [] : [`${r.sessions} sessions, not 10,000: the targets are stated for 10,000`]),
    ];
    return { tables, verdicts, notes, raw: r };
  },
};

const wsFanout: Scenario = {
  key: 'd',
  title: 'WebSocket fan-out (JetStream publish → socket frame)',
  async run(ctx) {
    const opts = ctx.quick
      ? { sessions: 10, sockets: 50, instances: 2, rate: 50, duration: 3 }
      : { sessions: 100, sockets: 1000, instances: 2, rate: 200, duration: 10 };
    const r = await runWsFanout(ctx.app, opts);
    const floor = ctx.floors.nats;
    const table: Table = {
      title: `${opts.sessions} sessions, ${opts.sockets} sockets over ${r.instances} API instances, ${opts.rate} events/s for ${opts.duration} s`,
      head: ['path', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'p50 / raw p50'],
      rows: [
        [
          'floor: NATS publish → subscribe round trip (one connection)',
          String(floor.n),
          ms(floor.p50),
          ms(floor.p99),
          '',
          '',
        ],
        [
          'raw: JetStream publish → core subscriber',
          String(r.raw.n),
          ms(r.raw.p50),
          ms(r.raw.p99),
          ms(r.raw.max),
          '',
        ],
        [
          'publish → WebSocket new_message frame',
          String(r.ws.n),
          ms(r.ws.p50),
          ms(r.ws.p99),
          ms(r.ws.max),
          x(r.ws.p50 / r.raw.p50),
        ],
      ],
    };
    const notes = [
      `delivered ${r.delivered} of ${r.expected} frames (${r.published} events); no target is set for fan-out`,
    ];
    return { tables: [table], verdicts: [], notes, raw: r };
  },
};

const readPath: Scenario = {
  key: 'e',
  title: 'REST read path against bare Koa + MongoDB',
  async run(ctx) {
    const opts = {
      connections: 16,
      ...(ctx.quick
        ? { warmup: 1, duration: 2, rounds: 1, sessions: 4, messages: 1 }
        : { warmup: 2, duration: 5, rounds: 3, sessions: 20, messages: 5 }),
      cases: ['a', 'b', 'c', 'b-list', 'd'],
      deadlineAt: ctx.deadlineAt,
    };
    const r = await runReadPath(ctx.app, opts);
    const byKey = new Map(r.cases.map((c) => [c.key, c]));
    const table: Table = {
      title: `${opts.connections} connections, ${opts.warmup} s warm-up + ${opts.duration} s per measurement, ${r.rounds} round(s), medians; floors measured alone at the start of the run`,
      head: ['case', 'what', 'req/s', 'p50 ms', 'p99 ms', 'failures', 'vs same-round baseline'],
      rows: [
        [
          'floor',
          'bare Koa route (run start)',
          ctx.floors.koa.rps.toFixed(0),
          ms(ctx.floors.koa.p50),
          ms(ctx.floors.koa.p99),
          String(ctx.floors.koa.failures),
          '',
        ],
        [
          'floor',
          'bare findOne by _id (run start)',
          ctx.floors.mongo.rps.toFixed(0),
          ms(ctx.floors.mongo.p50),
          ms(ctx.floors.mongo.p99),
          String(ctx.floors.mongo.failures),
          '',
        ],
        ...r.cases.map((c) => readPathRow(c, byKey)),
      ],
    };
    const verdicts = r.cases.filter((c) => c.target).map((c) => readPathVerdict(c, byKey));
    return { tables: [table], verdicts, notes: [], raw: r };
  },
};

function readPathRow(c: Case, byKey: Map<string, Case>): string[] {
  const base = c.baseline ? byKey.get(c.baseline) : undefined;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return [
    c.key,
    c.what,
    medianRps(c).toFixed(0),
    ms(median(c.results.map((m) => m.p50))),
    ms(median(c.results.map((m) => m.p99))),
    String(c.results.reduce((n, m) => n + m.failures, 0)),
    base ? `${percent(rpsRatio(c, base))} of ${base.key}` : '',
  ];
}

function readPathVerdict(c: Case, byKey: Map<string, Case>): Verdict {
  const base = byKey.get(c.baseline ?? '');
  const target = `${c.key} (${c.what}) at least ${percent(READ_PATH_TARGET)} of ${c.baseline}'s req/s`;
  if (!base) return notMeasured(target, `baseline ${c.baseline} not measured`);
  const verdict = atLeast(target, rpsRatio(c, base), READ_PATH_TARGET, percent);
  const failures = c.results.reduce((n, m) => n + m.failures, 0);
  return failures
    ? { target, meets: false, detail: `${verdict.detail}; ${failures} failed requests` }
    : verdict;
}

const webhooks: Scenario = {
  key: 'f',
  title: 'Webhook delivery throughput',
  async run(ctx) {
    const opts = {
      ...(ctx.quick ? { events: 200, sessions: 20 } : { events: 2000, sessions: 200 }),
      dispatchers: 1,
      // Waiting for the last delivery is bounded by the run and by five minutes.
      deadlineAt: Math.min(ctx.deadlineAt, Date.now() + 300_000),
    };
    const r = await runWebhooks(ctx.app, opts);
    const table: Table = {
      title: `${opts.events} message.created events over ${opts.sessions} sessions (order kept per session), one webhook, ${opts.dispatchers} dispatcher`,
      head: ['path', 'deliveries/s', 'p50 ms', 'p99 ms', 'vs floor'],
      rows: [
        ['floor: POSTs straight to the receiver, 8 at a time', r.floorRate.toFixed(0), '', '', ''],
        [
          'publish → dispatcher → receiver',
          r.rate.toFixed(0),
          ms(pct(r.latency, 50)),
          ms(pct(r.latency, 99)),
          percent(r.rate / r.floorRate),
        ],
      ],
    };
    const notes = [
      `delivered ${r.delivered} of ${opts.events}; repeated deliveries ${r.repeated}; bad signatures ${r.badSignatures}; no target is set for webhooks`,
    ];
    const { latency, ...summary } = r;
    return {
      tables: [table],
      verdicts: [],
      notes,
      raw: { ...summary, p50: pct(latency, 50), p99: pct(latency, 99) },
    };
  },
};

/**
 * In running order: session length first, on a quiet system (as bench:turnaround does); (c) on
 * its own stack while the shared one is idle; the turnaround after the read path, since the
 * sessions it ends are analysed in the background for minutes afterwards (while an analysis
 * scanned the whole transcript store, that held a run's read path up for minutes);
 * the webhooks last (their dispatcher then sees no other scenario's events).
 */
export const SCENARIOS: Scenario[] = [
  sessionLength,
  scheduledSessions,
  wsFanout,
  readPath,
  turnaround,
  webhooks,
];
