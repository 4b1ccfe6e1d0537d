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
import { createAdmin, httpClient, log, login, pct, startBenchStack } from './harness';
import { eventId } from '../lib/events';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    sessions: { type: 'string', default: '200' },
    dispatchers: { type: 'string', default: '1' },
    /** Seconds to wait for the last delivery. */
    deadline: { type: 'string', default: '300' },
  },
});
const eventCount = Number(args.events);
const sessionCount = Number(args.sessions);
const dispatcherCount = Number(args.dispatchers);
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

async function main(): Promise<void> {
  const receiver = startReceiver();
  const port = await receiver.listen();
  const bench = await startBenchStack({ tokenTtlSeconds: 3600 });
  try {
    const env = { SMARTSTEPS_WEBHOOKS__ALLOWED_HOSTS: '127.0.0.1' };
    await bench.startChild('api/server.ts', 'api listening', { env });
    for (let i = 0; i < dispatcherCount; i++) {
      await bench.startChild('workers/webhook-dispatcher.ts', 'webhook dispatcher running', {
        env,
      });
    }
    const token = await login(bench.base, await createAdmin(bench.stack.services.mongoUri));
    const api = httpClient(bench.base, token);
    await api('POST', '/webhooks', {
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
    const deadlineAt = Date.now() + Number(args.deadline) * 1000;
    const arrived = () => [...publishedAt.keys()].filter((id) => receiver.firstSeen.has(id)).length;
    while (arrived() < eventCount && Date.now() < deadlineAt) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const arrivals = [...receiver.firstSeen.entries()].filter(([id]) => publishedAt.has(id));
    const last = Math.max(...arrivals.map(([, at]) => at));
    const rate = arrivals.length / ((last - started) / 1000);
    const latency = arrivals.map(([id, at]) => at - publishedAt.get(id)!).sort((a, b) => a - b);
    const { posts, badSignatures } = receiver.stats();

    const out = [
      `Webhook delivery benchmark — ${new Date().toISOString()} — 2 cores shared by the stack, the API, ${dispatcherCount} dispatcher(s) and this process (publisher + receiver)`,
      `${eventCount} message.created events over ${sessionCount} sessions (order kept per session), one webhook`,
      '',
      '| path | deliveries/s | p50 ms | p99 ms |',
      '| --- | ---: | ---: | ---: |',
      `| floor: POSTs straight to the receiver, 8 at a time | ${floorRate.toFixed(0)} | | |`,
      `| publish → dispatcher → receiver | ${rate.toFixed(0)} | ${pct(latency, 50).toFixed(0)} | ${pct(latency, 99).toFixed(0)} |`,
      '',
      `delivered ${arrivals.length} of ${eventCount} events; repeated deliveries: ${posts - eventCount - arrivals.length}; bad signatures: ${badSignatures}; dispatcher = ${((rate / floorRate) * 100).toFixed(0)}% of the floor`,
    ];
    process.stdout.write(out.join('\n') + '\n');
    await nc.close();
  } finally {
    await bench.stop();
    await receiver.close();
  }
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
