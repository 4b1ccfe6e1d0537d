/**
 * Webhook delivery benchmark: events on JetStream → signed POSTs at a local receiver.
 *
 *   npm run bench:webhooks -- [--events 2000] [--sessions 200] [--dispatchers 1]
 *
 * One throw-away stack; the API and `--dispatchers` webhook dispatcher processes as children;
 * a receiver (node:http on loopback, allow-listed) in this process that checks every signature.
 * One webhook subscribes to `message.created`; the bench publishes `--events` events spread over
 * `--sessions` sessions as fast as JetStream takes them (delivery order is per session, so the
 * session count bounds the parallelism), and reports, in the same run:
 *   - floor: the same receiver taking the same number of POSTs straight from this process
 *     (same body size, 8 at a time), i.e. what HTTP on this machine allows without a dispatcher;
 *   - deliveries/s from the first publish to the last event received, and publish → receive
 *     latency p50/p99.
 * Bounded; loopback only.
 */
import { createHmac, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import {
  LOOPBACK_WEBHOOKS,
  log,
  pct,
  runCli,
  startBenchApp,
  startBenchStack,
  type BenchApp,
} from './harness';
import { eventId } from '../lib/events';

const SECRET = `bench-secret-${randomBytes(8).toString('hex')}`;

/** Accepts POSTs, verifies the spec's signature, and records when each event id first arrived. */
function startReceiver() {
  const firstSeen = new Map<string, number>();
  let badSignatures = 0;
  let posts = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      posts++;
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-signature-timestamp'] ?? '');
      const expected =
        'sha256=' + createHmac('sha256', SECRET).update(`${timestamp}${body}`).digest('hex');
      if (req.headers['x-signature'] !== expected) badSignatures++;
      const id = String(req.headers['x-event-id'] ?? '');
      if (!firstSeen.has(id)) firstSeen.set(id, at);
      res.writeHead(200).end();
    });
  });
  return {
    firstSeen,
    stats: () => ({ posts, badSignatures }),
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function floor(port: number, body: string, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature =
        'sha256=' + createHmac('sha256', SECRET).update(`${timestamp}${body}`).digest('hex');
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/floor',
          agent,
          headers: {
            'Content-Type': 'application/json',
            'X-Event-Id': `floor_${randomBytes(6).toString('hex')}`,
            'X-Signature-Timestamp': timestamp,
            'X-Signature': signature,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < count) await post();
    }),
  );
  agent.destroy();
  return count / ((performance.now() - started) / 1000);
}

export interface WebhooksOptions {
  events: number;
  sessions: number;
  dispatchers: number;
  /** Wait for the last delivery until then (ms since the epoch). */
  deadlineAt: number;
}

export interface WebhooksResult {
  /** POSTs/s straight from this process to the receiver, 8 at a time. */
  floorRate: number;
  /** Deliveries/s from the first publish to the last event received. */
  rate: number;
  /** publish → receive, ms, ascending. */
  latency: number[];
  delivered: number;
  /** POSTs beyond one per event (the floor's own POSTs aside). */
  repeated: number;
  badSignatures: number;
}

/**
 * Starts `dispatchers` webhook dispatchers and a receiver, subscribes one webhook to
 * `message.created`, publishes the events and waits (bounded) for them all to arrive. The
 * webhook is deleted again, so later runs on the same stack deliver nothing to a closed port.
 */
export async function runWebhooks(app: BenchApp, opts: WebhooksOptions): Promise<WebhooksResult> {
  const { bench, http: api } = app;
  const { events: eventCount, sessions: sessionCount } = opts;
  const receiver = startReceiver();
  const port = await receiver.listen();
  try {
    for (let i = 0; i < opts.dispatchers; i++) {
      await bench.startChild('workers/webhook-dispatcher.ts', 'webhook dispatcher running', {
        env: LOOPBACK_WEBHOOKS,
      });
    }
    const hook = await api<{ webhook_id: string }>('POST', '/webhooks', {
      url: `http://127.0.0.1:${port}/hook`,
      events: ['message.created'],
      secret: SECRET,
    });

    const sessions = Array.from({ length: sessionCount }, (_, i) => `s_bench${i}`);
    const sampleBody = JSON.stringify({
      event: 'message.created',
      timestamp: new Date().toISOString(),
      data: { session_id: sessions[0], n: 0, content: 'x'.repeat(200) },
    });
    log(`floor: ${eventCount} POSTs straight to the receiver`);
    const floorRate = await floor(port, sampleBody, eventCount);

    const nc = await connect({ servers: bench.stack.services.natsUrl });
    const js = jetstream(nc);
    const publishedAt = new Map<string, number>();
    log(`publishing ${eventCount} events over ${sessionCount} sessions`);
    const started = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let n = 0; n < eventCount; n++) {
      const sessionId = sessions[n % sessions.length]!;
      const id = eventId(sessionId, 'message.created', `bench-${n}`);
      const evt = {
        event_id: id,
        event: 'message.created',
        timestamp: new Date().toISOString(),
        data: { session_id: sessionId, client_id: 'c_bench', persona_id: 'sam_taylor', n },
      };
      publishedAt.set(id, performance.now());
      acks.push(
        js.publish(`ss.events.session.${sessionId}.message.created`, JSON.stringify(evt), {
          msgID: id,
        }),
      );
    }
    await Promise.all(acks);
    const arrived = () => [...publishedAt.keys()].filter((id) => receiver.firstSeen.has(id)).length;
    while (arrived() < eventCount && Date.now() < opts.deadlineAt) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await nc.close();
    await deleteWebhook(app, hook.webhook_id);
    const arrivals = [...receiver.firstSeen.entries()].filter(([id]) => publishedAt.has(id));
    const last = Math.max(...arrivals.map(([, at]) => at));
    const { posts, badSignatures } = receiver.stats();
    return {
      floorRate,
      rate: arrivals.length / ((last - started) / 1000),
      latency: arrivals.map(([id, at]) => at - publishedAt.get(id)!).sort((a, b) => a - b),
      delivered: arrivals.length,
      repeated: posts - eventCount - arrivals.length,
      badSignatures,
    };
  } finally {
    await receiver.close();
  }
}

/** DELETE answers 204 with no body, which the JSON client would choke on. */
async function deleteWebhook(app: BenchApp, webhookId: string): Promise<void> {
  const res = await fetch(`${app.bench.base}/webhooks/${webhookId}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${app.token}` },
  });
  if (!res.ok) log(`webhook ${webhookId} not deleted: ${res.status}`);
}

/** The CLI's report, as it always printed it. */
function report(r: WebhooksResult, opts: WebhooksOptions): string {
  return [
    `Webhook delivery benchmark — ${new Date().toISOString()} — 2 cores shared by the stack, the API, ${opts.dispatchers} dispatcher(s) and this process (publisher + receiver)`,
    `${opts.events} message.created events over ${opts.sessions} sessions (order kept per session), one webhook`,
    '',
    '| path | deliveries/s | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: |',
    `| floor: POSTs straight to the receiver, 8 at a time | ${r.floorRate.toFixed(0)} | | |`,
    `| publish → dispatcher → receiver | ${r.rate.toFixed(0)} | ${pct(r.latency, 50).toFixed(0)} | ${pct(r.latency, 99).toFixed(0)} |`,
    '',
    `delivered ${r.delivered} of ${opts.events} events; repeated deliveries: ${r.repeated}; bad signatures: ${r.badSignatures}; dispatcher = ${((r.rate / r.floorRate) * 100).toFixed(0)}% of the floor`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      events: { type: 'string', default: '2000' },
      sessions: { type: 'string', default: '200' },
      dispatchers: { type: 'string', default: '1' },
      /** Seconds to wait for the last delivery. */
      deadline: { type: 'string', default: '300' },
    },
  });
  const bench = await startBenchStack({ tokenTtlSeconds: 3600 });
  try {
    const app = await startBenchApp(bench);
    const opts: WebhooksOptions = {
      events: Number(args.events),
      sessions: Number(args.sessions),
      dispatchers: Number(args.dispatchers),
      // As before: the wait for deliveries starts once everything is published.
      deadlineAt: Date.now() + Number(args.deadline) * 1000,
    };
    process.stdout.write(report(await runWebhooks(app, opts), opts) + '\n');
  } finally {
    await bench.stop();
  }
}

if (require.main === module) runCli(main);
