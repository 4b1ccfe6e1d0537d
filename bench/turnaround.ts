/**
 * Message turnaround benchmark: client message (POST /messages) → persona reply event on NATS.
 *
 *   npx tsx bench/turnaround.ts [--sessions 1,10,100] [--messages 20] [--long 1000] [--floor 300]
 *
 * Starts a throw-away stack (Temporal, NATS, FerretDB), the API and one session and one persona
 * worker as separate processes (with a JWT secret of the run's own), signs in over HTTP as an
 * admin it creates in the bench database, books its sessions for a client it creates, and
 * measures in the same run:
 *   - the floor: a no-op Temporal Update round trip on the same server and task queue;
 *   - turnaround p50/p95/p99 and messages/s at each concurrency (closed loop: each session sends
 *     its next message when the reply to the last one has arrived);
 *   - cost against session length: latency around message 10 and around message --long of one
 *     session (continue-as-new happens on the way, when Temporal suggests it).
 * Bounded in count and time; talks to loopback only. `npm run bench` (bench/index.ts) runs the
 * same measurements through the exported functions.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { connectTemporal } from '../lib/temporal';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { floorProbeWorkflow, finishSignal, noopUpdate } from '../workflows/diagnostics';
import type { LifecycleEvent } from '../lib/schemas/events';
import { cpuSince, cpuTable, type ProcessRef } from './cpu';
import { table } from './report';
import {
  createClient,
  latency,
  log,
  runCli,
  startBenchApp,
  startBenchStack,
  type BenchApp,
  type Latency,
} from './harness';

const ms = (n: number) => n.toFixed(1);

/** Resolves reply waiters from the persona's message.created events. */
class ReplyWatcher {
  private waiters = new Map<string, (at: number) => void>();
  /** A reply can arrive before the POST that caused it has returned. */
  private seen = new Map<string, number>();
  private openings = new Map<string, () => void>();
  constructor(nc: NatsConnection) {
    const sub = nc.subscribe('ss.events.session.*.message.created');
    void (async () => {
      for await (const m of sub) {
        const at = performance.now();
        const evt = m.json<LifecycleEvent>();
        if (evt.event !== 'message.created' || evt.data.message.sender_type !== 'persona') continue;
        const inReplyTo = evt.data.message.metadata?.in_reply_to as string[] | undefined;
        if (!inReplyTo) this.openings.get(evt.data.session_id)?.();
        for (const id of inReplyTo ?? []) {
          const waiter = this.waiters.get(id);
          if (waiter) waiter(at);
          else this.seen.set(id, at);
        }
      }
    })();
  }
  opening(sessionId: string): Promise<void> {
    return new Promise((resolve) => this.openings.set(sessionId, resolve));
  }
  reply(messageId: string): Promise<number> {
    const at = this.seen.get(messageId);
    if (at !== undefined) {
      this.seen.delete(messageId);
      return Promise.resolve(at);
    }
    return new Promise((resolve) => this.waiters.set(messageId, resolve));
  }
}

/** A no-op Temporal Update round trip on the sessions task queue: the floor of any turnaround. */
export async function measureUpdateFloor(
  app: BenchApp,
  { samples, deadlineAt }: { samples: number; deadlineAt: number },
): Promise<Latency> {
  // With the workers' payload codec, as the API's client has.
  const temporal = await connectTemporal(app.bench.config);
  try {
    const probe = await temporal.client.workflow.start(floorProbeWorkflow, {
      taskQueue: 'sessions',
      workflowId: `floor-${Date.now()}`,
    });
    for (let i = 0; i < 20; i++) await probe.executeUpdate(noopUpdate, { args: [i] }); // warm-up
    const floor: number[] = [];
    for (let i = 0; i < samples && Date.now() < deadlineAt; i++) {
      const t = performance.now();
      await probe.executeUpdate(noopUpdate, { args: [i] });
      floor.push(performance.now() - t);
    }
    await probe.signal(finishSignal);
    return latency(floor);
  } finally {
    await temporal.close();
  }
}

/** What the turnaround measurements drive sessions with; `close()` when done. */
interface Conversations {
  /** Books, starts and waits for the persona's opening; returns the session id. */
  newSession(): Promise<string>;
  /** Sends message `n`; resolves with the time to the persona's reply (ms). */
  turn(sessionId: string, n: number): Promise<number>;
  end(sessionId: string): Promise<unknown>;
  /** POST /messages accept times (ms) since the last reset. */
  accepted: number[];
  close(): Promise<void>;
}

async function openConversations(app: BenchApp): Promise<Conversations> {
  const { http } = app;
  const clientId = await createClient(http);
  const nc = await connect({ servers: app.bench.stack.services.natsUrl });
  const watcher = new ReplyWatcher(nc);
  const accepted: number[] = [];
  return {
    accepted,
    newSession: async () => {
      const s = await http<{ session_id: string }>('POST', '/sessions', {
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        goals: ['Benchmark'],
        duration_minutes: 480,
      });
      const opened = watcher.opening(s.session_id);
      await http('POST', `/sessions/${s.session_id}/start`);
      await opened;
      return s.session_id;
    },
    turn: async (sessionId, n) => {
      const t = performance.now();
      const msg = await http<{ id: string }>('POST', `/sessions/${sessionId}/messages`, {
        content: `Message ${n}: work has been stressful and I feel anxious before meetings.`,
      });
      accepted.push(performance.now() - t);
      let timer: NodeJS.Timeout | undefined;
      const at = await Promise.race([
        watcher.reply(msg.id),
        new Promise<number>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no reply to ${msg.id} in 60 s`)), 60_000);
        }),
      ]).finally(() => clearTimeout(timer));
      return at - t;
    },
    end: (sessionId) => http('POST', `/sessions/${sessionId}/end`),
    close: () => nc.close(),
  };
}

/** Latency at one point of a session's life. */
export interface Checkpoint {
  message: number;
  /** p50 of the 20 turns around `message` (fewer where the session is shorter). */
  p50: number;
}

export interface SessionLengthResult {
  /** Messages actually sent (less than asked when the deadline came first). */
  reached: number;
  checkpoints: Checkpoint[];
}

/**
 * One session, messages one after another up to the last checkpoint; the p50 of a 20-message
 * window at each checkpoint (continue-as-new happens on the way, when Temporal suggests it).
 */
export async function runSessionLength(
  app: BenchApp,
  { checkpoints, deadlineAt }: { checkpoints: number[]; deadlineAt: number },
): Promise<SessionLengthResult> {
  const conv = await openConversations(app);
  try {
    const length = Math.max(...checkpoints);
    log(`session length: one session, ${length} messages`);
    const id = await conv.newSession();
    const lat: number[] = [];
    for (let m = 1; m <= length && Date.now() < deadlineAt; m++) {
      lat.push(await conv.turn(id, m));
      if (m % 250 === 0) log(`  message ${m}: ${ms(lat[m - 1]!)} ms`);
    }
    await conv.end(id);
    // The 20 turns ending 10 after the checkpoint, shifted back where the session ends earlier.
    const window = (at: number) => {
      const end = Math.min(lat.length, at + 10);
      return latency(lat.slice(Math.max(0, end - 20), end)).p50;
    };
    return {
      reached: lat.length,
      checkpoints: checkpoints
        .filter((c) => c <= lat.length)
        .map((message) => ({ message, p50: window(message) })),
    };
  } finally {
    await conv.close();
  }
}

export interface TurnaroundRow extends Latency {
  sessions: number;
  perSecond: number;
  acceptedP50: number;
  /** Turns that got no reply in time (or whose POST failed); each ends its session's loop. */
  failed: number;
  /** CPU ms per reply by process over the measured interval (bench/cpu.ts), when counted. */
  cpuMsPerReply?: Record<string, number>;
}

/**
 * At each concurrency, that many sessions in a closed loop (each sends its next message when the
 * reply to the last one has arrived), `perSession` messages each.
 */
export async function runTurnaround(
  app: BenchApp,
  opts: {
    concurrencies: number[];
    perSession: number;
    deadlineAt: number;
    /** Processes whose CPU time to count per reply. */
    processes?: () => ProcessRef[];
  },
): Promise<TurnaroundRow[]> {
  const conv = await openConversations(app);
  const rows: TurnaroundRow[] = [];
  try {
    for (const n of opts.concurrencies) {
      if (Date.now() > opts.deadlineAt) break;
      rows.push(await turnaroundAt(conv, n, opts));
    }
    return rows;
  } finally {
    await conv.close();
  }
}

async function turnaroundAt(
  conv: Conversations,
  n: number,
  {
    perSession,
    deadlineAt,
    processes,
  }: { perSession: number; deadlineAt: number; processes?: () => ProcessRef[] },
): Promise<TurnaroundRow> {
  log(`turnaround: ${n} concurrent sessions × ${perSession} messages`);
  const ids: string[] = [];
  for (let i = 0; i < n; i += 20)
    ids.push(
      ...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => conv.newSession()))),
    );
  const latencies: number[] = [];
  conv.accepted.length = 0;
  const cpu = processes && cpuSince(processes());
  const started = performance.now();
  let failed = 0;
  await Promise.all(
    ids.map(async (id) => {
      for (let m = 1; m <= perSession && Date.now() < deadlineAt; m++) {
        try {
          latencies.push(await conv.turn(id, m));
        } catch (err) {
          // A refused POST or a reply later than the wait: counted and reported, and that
          // session stops (its next message would queue behind the missing reply).
          if (failed++ < 5) log(`  turn failed: ${(err as Error).message}`);
          break;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuMs = cpu?.();
  // Measured already: a session the overloaded runtime would not end (503) is left running on
  // the throw-away stack rather than losing the figures.
  const ends = await Promise.allSettled(ids.map((id) => conv.end(id)));
  const notEnded = ends.filter((e) => e.status === 'rejected').length;
  if (notEnded) log(`  ${notEnded} of ${n} sessions could not be ended`);
  return {
    sessions: n,
    ...latency(latencies),
    perSecond: latencies.length / elapsed,
    acceptedP50: latency(conv.accepted).p50,
    failed,
    ...(cpuMs && latencies.length
      ? {
          cpuMsPerReply: Object.fromEntries(
            Object.entries(cpuMs).map(([name, total]) => [name, total / latencies.length]),
          ),
        }
      : {}),
  };
}

/** The CLI's report, as it always printed it. */
function report(floor: Latency, rows: TurnaroundRow[], long?: SessionLengthResult): string {
  const out: string[] = [];
  out.push(
    `Turnaround benchmark — ${new Date().toISOString()} — ${process.platform}, ${os.cpus().length} cores`,
  );
  out.push('');
  out.push(
    `Floor (no-op Temporal Update round trip, ${floor.n} samples): p50 ${ms(floor.p50)} ms, p95 ${ms(floor.p95)} ms, p99 ${ms(floor.p99)} ms`,
  );
  out.push('');
  out.push(
    '| sessions | messages | p50 ms | p95 ms | p99 ms | messages/s | p50 / floor p50 | POST accepted p50 ms |',
  );
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    out.push(
      `| ${r.sessions} | ${r.n} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.perSecond.toFixed(1)} | ${(r.p50 / floor.p50).toFixed(2)}x | ${ms(r.acceptedP50)} |`,
    );
  }
  for (const cpu of cpuTable(rows)) out.push('', ...table(cpu));
  const early = long?.checkpoints[0];
  const late = long?.checkpoints.at(-1);
  if (long && early && late && late !== early) {
    out.push('');
    out.push(
      `Session length: p50 around message 10 = ${ms(early.p50)} ms; around message ${long.reached} = ${ms(late.p50)} ms; ratio ${(late.p50 / early.p50).toFixed(2)}x`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      sessions: { type: 'string', default: '1,10,100' },
      messages: { type: 'string', default: '20' },
      long: { type: 'string', default: '1000' },
      floor: { type: 'string', default: '300' },
      deadline: { type: 'string', default: '1500' },
      /** Write a V8 CPU profile of each app process into this folder. */
      profile: { type: 'string' },
    },
  });
  const deadlineAt = Date.now() + Number(args.deadline) * 1000;
  const longLength = Number(args.long);
  const bench = await startBenchStack({ tokenTtlSeconds: Number(args.deadline) + 600 });
  try {
    const app = await startBenchApp(bench, args.profile ? { profile: args.profile } : {});
    const floor = await measureUpdateFloor(app, { samples: Number(args.floor), deadlineAt });
    log(`floor: no-op Update p50 ${ms(floor.p50)} ms`);
    // Session length first, on a quiet system.
    const long =
      longLength >= 20 && Date.now() < deadlineAt
        ? await runSessionLength(app, { checkpoints: [10, longLength], deadlineAt })
        : undefined;
    const rows = await runTurnaround(app, {
      concurrencies: args.sessions.split(',').map(Number),
      perSession: Number(args.messages),
      deadlineAt,
      processes: () => bench.processes(),
    });
    process.stdout.write(report(floor, rows, long) + '\n');
  } finally {
    await bench.stop();
  }
}

if (require.main === module) runCli(main);
