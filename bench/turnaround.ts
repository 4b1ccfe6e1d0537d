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
 * Bounded in count and time; talks to loopback only.
 */
import { parseArgs } from 'node:util';
import { connectTemporal } from '../lib/temporal';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { floorProbeWorkflow, finishSignal, noopUpdate } from '../workflows/diagnostics';
import type { LifecycleEvent } from '../lib/schemas/events';
import { createAdmin, createClient, httpClient, log, login, pct, startBenchStack } from './harness';

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
const concurrencies = args.sessions.split(',').map(Number);
const perSession = Number(args.messages);
const longLength = Number(args.long);
const floorSamples = Number(args.floor);
const deadlineAt = Date.now() + Number(args.deadline) * 1000;

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) };
};
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

async function main(): Promise<void> {
  const bench = await startBenchStack({ tokenTtlSeconds: Number(args.deadline) + 600 });
  const { stack } = bench;
  try {
    const profile = args.profile ? { profile: args.profile } : {};
    await Promise.all([
      bench.startChild('workers/session-worker.ts', 'sessions worker polling', profile),
      bench.startChild('workers/persona-worker.ts', 'personas worker polling', profile),
      bench.startChild('api/server.ts', 'api listening', profile),
    ]);
    // Every /api/v1 route wants a bearer token, and a session needs a client to be booked for.
    const token = await login(bench.base, await createAdmin(stack.services.mongoUri));
    const http = httpClient(bench.base, token);
    const clientId = await createClient(http);
    const nc = await connect({ servers: stack.services.natsUrl });
    const watcher = new ReplyWatcher(nc);
    // With the workers' payload codec, as the API's client has.
    const temporal = await connectTemporal(bench.config);
    const { client } = temporal;

    // ---- floor: no-op Update round trip ----
    const probe = await client.workflow.start(floorProbeWorkflow, {
      taskQueue: 'sessions',
      workflowId: `floor-${Date.now()}`,
    });
    for (let i = 0; i < 20; i++) await probe.executeUpdate(noopUpdate, { args: [i] }); // warm-up
    const floor: number[] = [];
    for (let i = 0; i < floorSamples && Date.now() < deadlineAt; i++) {
      const t = performance.now();
      await probe.executeUpdate(noopUpdate, { args: [i] });
      floor.push(performance.now() - t);
    }
    await probe.signal(finishSignal);
    const floorStats = summary(floor);
    log(`floor: no-op Update p50 ${ms(floorStats.p50)} ms`);

    const newSession = async (): Promise<string> => {
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
    };
    const accepted: number[] = [];
    const turn = async (sessionId: string, n: number): Promise<number> => {
      const t = performance.now();
      const msg = await http<{ id: string }>('POST', `/sessions/${sessionId}/messages`, {
        content: `Message ${n}: work has been stressful and I feel anxious before meetings.`,
      });
      accepted.push(performance.now() - t);
      const at = await Promise.race([
        watcher.reply(msg.id),
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`no reply to ${msg.id} in 60 s`)), 60_000),
        ),
      ]);
      return at - t;
    };

    // ---- cost against session length (first, on a quiet system) ----
    let long: { early: number; late: number; at: number } | undefined;
    if (longLength >= 20 && Date.now() < deadlineAt) {
      log(`session length: one session, ${longLength} messages`);
      const id = await newSession();
      const lat: number[] = [];
      for (let m = 1; m <= longLength && Date.now() < deadlineAt; m++) {
        lat.push(await turn(id, m));
        if (m % 250 === 0) log(`  message ${m}: ${ms(lat[m - 1]!)} ms`);
      }
      const window = (center: number) =>
        summary(lat.slice(Math.max(0, center - 10), center + 10)).p50;
      long = { early: window(10), late: window(lat.length - 10), at: lat.length };
      await http('POST', `/sessions/${id}/end`);
    }

    // ---- turnaround at each concurrency ----
    const rows: Array<{
      sessions: number;
      n: number;
      p50: number;
      p95: number;
      p99: number;
      perSecond: number;
      acceptedP50: number;
    }> = [];
    for (const n of concurrencies) {
      if (Date.now() > deadlineAt) break;
      log(`turnaround: ${n} concurrent sessions × ${perSession} messages`);
      const ids: string[] = [];
      for (let i = 0; i < n; i += 20)
        ids.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, newSession))));
      const latencies: number[] = [];
      accepted.length = 0;
      const started = performance.now();
      await Promise.all(
        ids.map(async (id) => {
          for (let m = 1; m <= perSession && Date.now() < deadlineAt; m++)
            latencies.push(await turn(id, m));
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      rows.push({
        sessions: n,
        ...summary(latencies),
        perSecond: latencies.length / elapsed,
        acceptedP50: summary(accepted).p50,
      });
      await Promise.all(ids.map((id) => http('POST', `/sessions/${id}/end`)));
    }

    // ---- report ----
    const out: string[] = [];
    out.push(
      `Turnaround benchmark — ${new Date().toISOString()} — ${process.platform}, ${require('node:os').cpus().length} cores`,
    );
    out.push('');
    out.push(
      `Floor (no-op Temporal Update round trip, ${floorStats.n} samples): p50 ${ms(floorStats.p50)} ms, p95 ${ms(floorStats.p95)} ms, p99 ${ms(floorStats.p99)} ms`,
    );
    out.push('');
    out.push(
      '| sessions | messages | p50 ms | p95 ms | p99 ms | messages/s | p50 / floor p50 | POST accepted p50 ms |',
    );
    out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      out.push(
        `| ${r.sessions} | ${r.n} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.perSecond.toFixed(1)} | ${(r.p50 / floorStats.p50).toFixed(2)}x | ${ms(r.acceptedP50)} |`,
      );
    }
    if (long) {
      out.push('');
      out.push(
        `Session length: p50 around message 10 = ${ms(long.early)} ms; around message ${long.at} = ${ms(long.late)} ms; ratio ${(long.late / long.early).toFixed(2)}x`,
      );
    }
    process.stdout.write(out.join('\n') + '\n');

    await nc.close();
    await temporal.close();
  } finally {
    await bench.stop();
  }
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
