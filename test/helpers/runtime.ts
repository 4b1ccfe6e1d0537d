/**
 * The application processes a test needs, in-process, against the harness's real servers:
 * the API, a session worker and a persona worker on task queues of the test's own.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Config } from '../../lib/config';
import { connectBus, type Bus } from '../../lib/bus';
import { start as startApi, type ApiServer } from '../../api/server';
import { start as startSessionWorker } from '../../workers/session-worker';
import { start as startPersonaWorker } from '../../workers/persona-worker';
import type { RunningWorker } from '../../workers/pool';
import type { LifecycleEvent } from '../../lib/schemas/events';
import { quietLogger, testConfig, unique, waitFor, workflowBundle } from './stack';

export interface Runtime {
  config: Config;
  api: ApiServer;
  workers: RunningWorker[];
  bus: Bus;
  http: Http;
  stop(): Promise<void>;
}

export interface HttpResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export type Http = <T = any>(
  method: string,
  path: string,
  body?: unknown,
) => Promise<HttpResponse<T>>;

export async function startRuntime(
  overrides: Record<string, unknown> = {},
  opts: { sessionWorker?: boolean; personaWorker?: boolean } = {},
): Promise<Runtime> {
  const config = testConfig({
    'temporal.task_queues.sessions': unique('sessions'),
    'temporal.task_queues.personas': unique('personas'),
    ...overrides,
  });
  const workers: RunningWorker[] = [];
  if (opts.sessionWorker !== false)
    workers.push(
      await startSessionWorker(config, quietLogger, { workflowBundle: workflowBundle() }),
    );
  if (opts.personaWorker !== false) workers.push(await startPersonaWorker(config, quietLogger));
  const api = await startApi(config, quietLogger);
  const bus = await connectBus(config, 'test-observer');
  return {
    config,
    api,
    workers,
    bus,
    http: httpClient(api.url),
    stop: async () => {
      await api.stop();
      await Promise.all(workers.map((w) => w.stop()));
      await bus.close();
    },
  };
}

export function httpClient(base: string): Http {
  return async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
}

/** Every lifecycle event stored in the stream for a session, in stream order. */
export async function sessionEvents(bus: Bus, sessionId: string): Promise<LifecycleEvent[]> {
  const consumer = await bus.js.consumers.get(bus.stream, {
    filter_subjects: [`ss.events.session.${sessionId}.>`],
    deliver_policy: DeliverPolicy.All,
  });
  const events: LifecycleEvent[] = [];
  const pending = (await consumer.info()).num_pending;
  if (pending === 0) return events;
  const batch = await consumer.fetch({ max_messages: pending, expires: 5_000 });
  for await (const msg of batch) {
    events.push(msg.json<LifecycleEvent>());
    if (events.length === pending) break;
  }
  await consumer.delete().catch(() => undefined);
  return events;
}

export interface EventCollector {
  events: LifecycleEvent[];
  next(
    match: (e: LifecycleEvent) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<LifecycleEvent>;
  stop(): Promise<void>;
}

/** Follows a session's events from the start of the stream, as an app or webhook consumer would. */
export async function collectEvents(bus: Bus, sessionId: string): Promise<EventCollector> {
  const consumer = await bus.js.consumers.get(bus.stream, {
    filter_subjects: [`ss.events.session.${sessionId}.>`],
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const events: LifecycleEvent[] = [];
  const done = (async () => {
    for await (const msg of messages) events.push(msg.json<LifecycleEvent>());
  })();
  return {
    events,
    next: (match, what, timeoutMs = 15_000) => waitFor(what, () => events.find(match), timeoutMs),
    stop: async () => {
      await messages.close();
      await done;
    },
  };
}
