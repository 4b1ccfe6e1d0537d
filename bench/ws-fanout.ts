/**
 * WebSocket fan-out benchmark: event published on NATS JetStream → frame on a client socket.
 *
 *   npm run bench:ws -- [--sessions 100] [--sockets 1000] [--instances 2] [--rate 200]
 *                       [--duration 10]
 *
 * One throw-away stack; a session worker and `--instances` API processes as children. Sessions
 * are created through the API (scheduled for tomorrow, so no persona runs), then `--sockets`
 * sockets join them, spread evenly over sessions and API instances. The bench publishes
 * `message.created` events for random sessions at `--rate` events/s, exactly as the workflow's
 * activities do (JetStream, `Nats-Msg-Id`), and measures in the same run:
 *   - raw: publish → a plain core NATS subscriber in this process (the floor of any fan-out);
 *   - ws:  publish → each joined socket's `new_message` frame.
 * Publisher, sockets and subscriber share this process's clock. Bounded; loopback only.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { freePort } from '../scripts/stack/ports';
import {
  LOOPBACK_WEBHOOKS,
  createClient,
  log,
  pct,
  runCli,
  startBenchApp,
  startBenchStack,
  type BenchApp,
} from './harness';
import { eventId } from '../lib/events';
import type { LifecycleEvent } from '../lib/schemas/events';

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] ?? NaN };
};
const ms = (n: number) => n.toFixed(2);

interface Joined {
  ws: WebSocket;
  sessionId: string;
}

async function openSocket(url: string, token: string, sessionId: string): Promise<Joined> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const id = `join_${randomBytes(4).toString('hex')}`;
  const joined = new Promise<void>((resolve, reject) => {
    const onFrame = (raw: WebSocket.RawData) => {
      const frame = JSON.parse((raw as Buffer).toString('utf8')) as {
        type: string;
        data: { request_id?: string };
      };
      if (frame.data.request_id !== id) return;
      ws.off('message', onFrame);
      if (frame.type === 'ack') resolve();
      else reject(new Error(`join refused: ${(raw as Buffer).toString('utf8')}`));
    };
    ws.on('message', onFrame);
  });
  ws.send(JSON.stringify({ type: 'join_session', id, data: { session_id: sessionId } }));
  await joined;
  return { ws, sessionId };
}

export interface WsFanoutOptions {
  sessions: number;
  sockets: number;
  /** API processes the sockets are spread over (the app's own one included). */
  instances: number;
  /** Events published per second (each reaches sockets/sessions sockets). */
  rate: number;
  /** Seconds of measured publishing, after a 2 s warm-up. */
  duration: number;
}

export interface WsFanoutResult {
  /** publish → a plain core NATS subscriber in this process: the floor of any fan-out. */
  raw: Stats;
  /** publish → each joined socket's `new_message` frame. */
  ws: Stats;
  published: number;
  expected: number;
  delivered: number;
  instances: number;
}

type Stats = ReturnType<typeof stats>;

/** Sessions, sockets joined to them over the API instances, then paced publishing. */
export async function runWsFanout(app: BenchApp, opts: WsFanoutOptions): Promise<WsFanoutResult> {
  const { bench, token, http } = app;
  const { sessions: sessionCount, sockets: socketCount, rate, duration: durationS } = opts;
  const sockets: Joined[] = [];
  try {
    const ports = [bench.apiPort];
    for (let i = 1; i < opts.instances; i++) ports.push(await freePort());
    await Promise.all(
      ports.slice(1).map((port) =>
        bench.startChild('api/server.ts', 'api listening', {
          env: { ...LOOPBACK_WEBHOOKS, SMARTSTEPS_SERVER__PORT: String(port) },
        }),
      ),
    );

    log(`creating ${sessionCount} sessions`);
    const clientId = await createClient(http);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const sessions: { session_id: string; client_id: string; persona_id: string }[] = [];
    for (let i = 0; i < sessionCount; i++) {
      sessions.push(
        await http('POST', '/sessions', {
          client_id: clientId,
          persona_id: 'sam_taylor',
          scheduled_at: tomorrow,
        }),
      );
    }

    log(`opening ${socketCount} sockets over ${ports.length} API instances`);
    for (let i = 0; i < socketCount; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(socketCount, i + 50); j++) {
        const port = ports[j % ports.length]!;
        const session = sessions[j % sessions.length]!;
        batch.push(openSocket(`ws://127.0.0.1:${port}/ws`, token, session.session_id));
      }
      sockets.push(...(await Promise.all(batch)));
    }

    // Publish times by event id; both measurements read them.
    const publishedAt = new Map<string, number>();
    let measuring = false;
    const wsLatency: number[] = [];
    const rawLatency: number[] = [];
    let framesSeen = 0;
    for (const { ws } of sockets) {
      ws.on('message', (raw) => {
        const at = performance.now();
        const frame = JSON.parse((raw as Buffer).toString('utf8')) as { type: string; id: string };
        if (frame.type !== 'new_message') return;
        framesSeen++;
        const sent = publishedAt.get(frame.id);
        if (measuring && sent !== undefined) wsLatency.push(at - sent);
      });
    }
    const nc = await connect({ servers: bench.stack.services.natsUrl });
    const sub = nc.subscribe('ss.events.session.>');
    void (async () => {
      for await (const m of sub) {
        const at = performance.now();
        const id = m.headers?.get('Nats-Msg-Id');
        const sent = id ? publishedAt.get(id) : undefined;
        if (measuring && sent !== undefined) rawLatency.push(at - sent);
      }
    })();
    const js = jetstream(nc);

    const publishOne = async (n: number) => {
      const s = sessions[Math.floor(Math.random() * sessions.length)]!;
      const messageId = `m_bench${n}_${randomBytes(3).toString('hex')}`;
      const evt: LifecycleEvent = {
        event_id: eventId(s.session_id, 'message.created', messageId),
        event: 'message.created',
        timestamp: new Date().toISOString(),
        data: {
          ...s,
          message: {
            id: messageId,
            session_id: s.session_id,
            sender_type: 'persona',
            sender_id: s.persona_id,
            content: `Benchmark line ${n}`,
            timestamp: new Date().toISOString(),
          },
        },
      };
      publishedAt.set(evt.event_id, performance.now());
      await js.publish(`ss.events.session.${s.session_id}.message.created`, JSON.stringify(evt), {
        msgID: evt.event_id,
      });
    };

    const run = async (seconds: number) => {
      const total = Math.round(seconds * rate);
      const started = performance.now();
      const pending: Promise<void>[] = [];
      for (let n = 0; n < total; n++) {
        // Paced open loop: each event leaves at its slot whatever the previous ones are doing.
        const due = started + (n * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        pending.push(publishOne(n));
      }
      await Promise.all(pending);
      return total;
    };

    log('warm-up 2 s');
    await run(2);
    measuring = true;
    const before = framesSeen;
    log(`measuring ${durationS} s at ${rate} events/s`);
    const published = await run(durationS);
    const perEvent = socketCount / sessionCount;
    const expected = Math.round(published * perEvent);
    // Frames in flight at the end: wait for them (bounded) so the count is complete.
    const deadline = Date.now() + 10_000;
    while (framesSeen - before < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    measuring = false;

    sub.unsubscribe();
    await nc.close();
    return {
      raw: stats(rawLatency),
      ws: stats(wsLatency),
      published,
      expected,
      delivered: framesSeen - before,
      instances: ports.length,
    };
  } finally {
    for (const { ws } of sockets) ws.terminate();
  }
}

/** The CLI's report, as it always printed it. */
function report(r: WsFanoutResult, opts: WsFanoutOptions): string {
  const { raw, ws: wsStats, published, expected } = r;
  const { sessions: sessionCount, sockets: socketCount, rate, duration: durationS } = opts;
  const perEvent = socketCount / sessionCount;
  const out = [
    `WebSocket fan-out benchmark — ${new Date().toISOString()} — 2 cores shared by the stack, ${r.instances} API instances, the session worker and persona worker and this process (publisher + ${socketCount} sockets)`,
    `${sessionCount} sessions, ${socketCount} sockets (${perEvent} per session), ${rate} events/s for ${durationS} s = ${published} events, ${expected} socket deliveries expected`,
    '',
    '| path | samples | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| raw NATS publish → core subscriber | ${raw.n} | ${ms(raw.p50)} | ${ms(raw.p99)} | ${ms(raw.max)} |`,
    `| publish → WebSocket new_message frame | ${wsStats.n} | ${ms(wsStats.p50)} | ${ms(wsStats.p99)} | ${ms(wsStats.max)} |`,
    '',
    `delivered ${r.delivered} of ${expected} frames; ws p50 = ${(wsStats.p50 / raw.p50).toFixed(1)}x raw p50`,
  ];
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      sessions: { type: 'string', default: '100' },
      sockets: { type: 'string', default: '1000' },
      instances: { type: 'string', default: '2' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '10' },
    },
  });
  const opts: WsFanoutOptions = {
    sessions: Number(args.sessions),
    sockets: Number(args.sockets),
    instances: Number(args.instances),
    rate: Number(args.rate),
    duration: Number(args.duration),
  };
  const bench = await startBenchStack({ tokenTtlSeconds: 3600 });
  try {
    const app = await startBenchApp(bench);
    process.stdout.write(report(await runWsFanout(app, opts), opts) + '\n');
  } finally {
    await bench.stop();
  }
}

if (require.main === module) runCli(main);
