/**
 * Starting the three real servers on given ports with data under a given folder, and waiting
 * until each answers its own protocol (not just an open port). Used by `npm start` and by the
 * test harness, which passes free ports and a throw-away folder.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import type { Binaries } from './binaries';
import { startProcess, waitUntilReady, type ManagedProcess } from './supervisor';

/** Typed search attributes the session workflows upsert; registered whenever Temporal starts. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Datetime'> = {
  ClientId: 'Keyword',
  PersonaId: 'Keyword',
  SessionStatus: 'Keyword',
  ScheduledAt: 'Datetime',
};

export interface ServicePorts {
  temporal: number;
  temporalHttp: number;
  /** 0 = no Web UI (tests). */
  temporalUi: number;
  temporalMetrics: number;
  nats: number;
  natsMonitor: number;
  mongo: number;
}

export interface StartServicesOptions {
  bins: Binaries;
  dataDir: string;
  ports: ServicePorts;
  host?: string;
  /** Which services to start; a service configured elsewhere is not started. */
  only?: Array<'temporal' | 'nats' | 'mongo'>;
  /** Start each server in its own process group (see SpawnOptions.detached). */
  detached?: boolean;
  /** Send each server's output to `<dataDir>/logs/<name>.log` instead of the terminal. */
  logToFiles?: boolean;
  namespace?: string;
  readyTimeoutMs?: number;
  /**
   * The Web UI's codec server (the API's `/codec`), so the UI can show encrypted payloads to
   * an operator who gives it credentials.
   */
  uiCodecEndpoint?: string;
}

/**
 * The dev server's history service reads its task queues at most 20 times a second by default
 * (one shard here). Every turn goes through the transfer queue twice (the persona activity, then
 * the workflow task that takes its result), so once the reader's burst is spent each hand-off
 * waited up to 50 ms for the next read: a reply took 100 ms instead of 45 from about the 30th
 * message on (bench/changes.md). At 200 a hand-off waits at most 5 ms; reads stay batched under
 * load, so the cap still bounds SQLite's reads.
 */
const TEMPORAL_DYNAMIC_CONFIG: Record<string, number> = {
  'history.transferProcessorMaxPollRPS': 200,
  'history.timerProcessorMaxPollRPS': 200,
  'history.visibilityProcessorMaxPollRPS': 200,
};

export interface RunningServices {
  processes: ManagedProcess[];
  temporalAddress: string;
  natsUrl: string;
  mongoUri: string;
  stop(): Promise<void>;
}

export async function startServices(opts: StartServicesOptions): Promise<RunningServices> {
  const host = opts.host ?? '127.0.0.1';
  const only = new Set(opts.only ?? ['temporal', 'nats', 'mongo']);
  const readyTimeout = opts.readyTimeoutMs ?? 120_000;
  const logsDir = path.join(opts.dataDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const logFile = (name: string) =>
    opts.logToFiles ? path.join(logsDir, `${name}.log`) : undefined;

  const temporalAddress = `${host}:${opts.ports.temporal}`;
  const natsUrl = `nats://${host}:${opts.ports.nats}`;
  const mongoUri = `mongodb://${host}:${opts.ports.mongo}/`;
  const started: Array<{ proc: ManagedProcess; ready: () => Promise<unknown>; log?: string }> = [];

  try {
    if (only.has('nats')) {
      const dir = path.join(opts.dataDir, 'nats');
      mkdirSync(dir, { recursive: true });
      const log = logFile('nats');
      const proc = startProcess(
        'nats',
        opts.bins['nats-server'],
        [
          '-a',
          host,
          '-p',
          String(opts.ports.nats),
          '-js',
          '-sd',
          dir,
          '-m',
          String(opts.ports.natsMonitor),
        ],
        { logFile: log, color: 1, detached: opts.detached },
      );
      started.push({ proc, log, ready: () => natsReady(host, opts.ports.natsMonitor) });
    }

    if (only.has('mongo')) {
      const dir = path.join(opts.dataDir, 'ferretdb');
      mkdirSync(dir, { recursive: true });
      const log = logFile('ferretdb');
      const proc = startProcess(
        'ferretdb',
        opts.bins.ferretdb,
        [
          '--handler=sqlite',
          `--sqlite-url=file:${path.resolve(dir)}/`,
          `--listen-addr=${host}:${opts.ports.mongo}`,
          `--state-dir=${path.resolve(dir)}`,
          '--telemetry=disable',
          '--debug-addr=-',
          '--log-level=error',
        ],
        { logFile: log, color: 2, detached: opts.detached },
      );
      started.push({ proc, log, ready: () => mongoReady(mongoUri) });
    }

    if (only.has('temporal')) {
      const dir = path.join(opts.dataDir, 'temporal');
      mkdirSync(dir, { recursive: true });
      const log = logFile('temporal');
      const args = [
        'server',
        'start-dev',
        '--ip',
        host,
        '--port',
        String(opts.ports.temporal),
        '--http-port',
        String(opts.ports.temporalHttp),
        '--metrics-port',
        String(opts.ports.temporalMetrics),
        '--db-filename',
        path.join(dir, 'temporal.db'),
        // WAL with synchronous=NORMAL survives a crash of any process (not a power cut) and
        // avoids an fsync per transaction, which otherwise dominates every round trip.
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
        '--namespace',
        opts.namespace ?? 'default',
        '--log-level',
        'error',
        ...Object.entries(TEMPORAL_DYNAMIC_CONFIG).flatMap(([key, value]) => [
          '--dynamic-config-value',
          `${key}=${value}`,
        ]),
      ];
      if (opts.ports.temporalUi) {
        args.push('--ui-port', String(opts.ports.temporalUi));
        if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
      } else args.push('--headless');
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
        args.push('--search-attribute', `${name}=${type}`);
      const proc = startProcess('temporal', opts.bins.temporal, args, {
        logFile: log,
        color: 0,
        detached: opts.detached,
      });
      started.push({
        proc,
        log,
        ready: () => temporalReady(temporalAddress, opts.namespace ?? 'default'),
      });
    }

    await Promise.all(started.map((s) => waitUntilReady(s.proc, s.ready, readyTimeout, s.log)));
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.proc.stop()));
    throw err;
  }

  const processes = started.map((s) => s.proc);
  return {
    processes,
    temporalAddress,
    natsUrl,
    mongoUri,
    // Temporal first: it holds the SQLite file whose clean close matters most for the next start.
    stop: async () => {
      await Promise.allSettled([...processes].reverse().map((p) => p.stop(15_000)));
    },
  };
}

async function natsReady(host: string, monitorPort: number): Promise<void> {
  const res = await fetch(`http://${host}:${monitorPort}/healthz?js-enabled-only=true`);
  if (!res.ok) throw new Error(`nats health ${res.status}`);
}

async function mongoReady(uri: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

async function temporalReady(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace,
    });
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !customAttributes?.[name]);
    if (missing.length > 0)
      throw new Error(`search attributes not yet registered: ${missing.join(', ')}`);
  } finally {
    await connection.close();
  }
}
