/**
 * The application processes a test needs, in-process, against the harness's real servers:
 * the API, a session worker and a persona worker on task queues of the test's own.
 */
import { randomBytes } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Role } from '../../lib/auth/roles';
import { UserStore } from '../../lib/auth/users';
import type { Config } from '../../lib/config';
import { connectBus, type Bus } from '../../lib/bus';
import { start as startApi, type ApiServer } from '../../api/server';
import { start as startSessionWorker } from '../../workers/session-worker';
import { start as startPersonaWorker } from '../../workers/persona-worker';
import type { RunningWorker } from '../../workers/pool';
import type { LifecycleEvent } from '../../lib/schemas/events';
import type { Logger } from '../../lib/log';
import { quietLogger, testConfig, unique, waitFor, workflowBundle } from './stack';

export interface Runtime {
  config: Config;
  api: ApiServer;
  workers: RunningWorker[];
  bus: Bus;
  /** Signed in as an admin of the test's own database. */
  http: Http;
  admin: SignedIn;
  /** No credentials at all. */
  anonymous: Http;
  /** Creates a user with this role and signs in as them. */
  signIn(role: Role, name?: string): Promise<SignedIn>;
  /** Creates a client (as the admin unless another caller is given) and returns its id. */
  newClient(fields?: Record<string, unknown>, as?: Http): Promise<string>;
  /** The admin's client named by `label`, created on first use. */
  clientId(label: string): Promise<string>;
  stop(): Promise<void>;
}

export interface SignedIn {
  http: Http;
  token: string;
  refreshToken: string;
  userId: string;
  email: string;
  password: string;
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
  headers?: Record<string, string>,
) => Promise<HttpResponse<T>>;

export async function startRuntime(
  overrides: Record<string, unknown> = {},
  opts: { sessionWorker?: boolean; personaWorker?: boolean; log?: Logger } = {},
): Promise<Runtime> {
  const log = opts.log ?? quietLogger;
  const config = testConfig({
    'temporal.task_queues.sessions': unique('sessions'),
    'temporal.task_queues.personas': unique('personas'),
    ...overrides,
  });
  const workers: RunningWorker[] = [];
  if (opts.sessionWorker !== false)
    workers.push(await startSessionWorker(config, log, { workflowBundle: workflowBundle() }));
  if (opts.personaWorker !== false) workers.push(await startPersonaWorker(config, log));
  const api = await startApi(config, log);
  const bus = await connectBus(config, 'test-observer');
  const anonymous = httpClient(api.url);
  const signIn = async (role: Role, name = role): Promise<SignedIn> => {
    const users = new UserStore(api.connections.store.db);
    const username = unique(name)
      .replace(/[^a-z0-9_.-]/gi, '_')
      .toLowerCase();
    const email = `${username}@example.test`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const user = await users.create({ username, email, role, password });
    const login = await anonymous('POST', '/api/v1/auth/login', { username, password });
    if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
    const token = login.body.token as string;
    return {
      http: httpClient(api.url, token),
      token,
      refreshToken: login.body.refresh_token as string,
      userId: user.user_id,
      email,
      password,
    };
  };
  const admin = await signIn('admin');
  const newClient = async (fields: Record<string, unknown> = {}, as: Http = admin.http) => {
    const res = await as('POST', '/api/v1/clients', {
      first_name: 'Test',
      last_name: unique('Client'),
      ...fields,
    });
    if (res.status !== 201) throw new Error(`client create failed: ${JSON.stringify(res.body)}`);
    return res.body.client_id as string;
  };
  const labelled = new Map<string, Promise<string>>();
  const clientId = (label: string) => {
    let id = labelled.get(label);
    if (!id) labelled.set(label, (id = newClient({ first_name: label })));
    return id;
  };
  return {
    config,
    api,
    workers,
    bus,
    http: admin.http,
    admin,
    clientId,
    anonymous,
    signIn,
    newClient,
    stop: async () => {
      await api.stop();
      await Promise.all(workers.map((w) => w.stop()));
      await bus.close();
    },
  };
}

export function httpClient(base: string, token?: string): Http {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
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

/** A started session of the admin's client `label`, once the persona's opening line is stored. */
export async function startedSession(rt: Runtime, label: string): Promise<string> {
  const created = await rt.http('POST', '/api/v1/sessions', {
    client_id: await rt.clientId(label),
    persona_id: 'sam_taylor',
  });
  const id = created.body.session_id as string;
  expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
  await waitFor('the opening message', async () => {
    const res = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
    return res.body.pagination.total >= 1 ? res : undefined;
  });
  return id;
}
