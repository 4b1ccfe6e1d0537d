/**
 * A webhook receiver on 127.0.0.1, as an integrating app would run one: it checks every
 * delivery's signature with the spec's algorithm (HMAC-SHA256 of timestamp + body, hex, prefixed
 * `sha256=`) and answers with whatever status the test decides.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { unique } from './stack';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  eventId: string;
  event: string;
  body: { event: string; timestamp: string; data: Record<string, unknown> };
  headers: http.IncomingHttpHeaders;
  /** The signature matched the secret. */
  verified: boolean;
  /** What the receiver answered. */
  status: number;
}

export interface Receiver {
  url(path?: string): string;
  received: Received[];
  /** Deliveries answered 2xx. */
  accepted(): Received[];
  close(): Promise<void>;
}

export async function startReceiver(
  secret: string,
  respond: (r: Omit<Received, 'status'>) => number | Promise<number> = () => 200,
): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const timestamp = String(req.headers['x-signature-timestamp'] ?? '');
        const expected =
          'sha256=' + createHmac('sha256', secret).update(`${timestamp}${raw}`).digest('hex');
        const given = String(req.headers['x-signature'] ?? '');
        const verified =
          given.length === expected.length &&
          timingSafeEqual(Buffer.from(given), Buffer.from(expected));
        const body = JSON.parse(raw) as Received['body'];
        const delivery = {
          path: req.url ?? '/',
          eventId: String(req.headers['x-event-id'] ?? ''),
          event: body.event,
          body,
          headers: req.headers,
          verified,
        };
        const status = verified ? await respond(delivery) : 401;
        received.push({ ...delivery, status });
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end('ok');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    accepted: () => received.filter((r) => r.status >= 200 && r.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Config for webhook tests: their own NATS server (other test files publish at the same time),
 * loopback allowed, a consumer of their own, and retries in milliseconds rather than minutes.
 */
export function quickWebhookConfig(natsUrl: string): Record<string, unknown> {
  return {
    'nats.servers': [natsUrl],
    'webhooks.allowed_hosts': ['127.0.0.1'],
    'webhooks.consumer': unique('webhooks'),
    'webhooks.poll_interval_ms': 50,
    'webhooks.retry.initial_delay_seconds': 0.05,
    'webhooks.retry.max_delay_seconds': 0.2,
    'webhooks.request_timeout_seconds': 2,
  };
}
