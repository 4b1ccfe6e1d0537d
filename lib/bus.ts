/**
 * The event bus: NATS with JetStream. Lifecycle events go to the durable stream `SS_EVENTS`
 * on `ss.events.<entity>.<id>.<event>`; each carries a deterministic `event_id` sent as
 * `Nats-Msg-Id`, so a publish retried by an activity is dropped by the stream as a duplicate.
 * Typing indicators are ephemeral core-NATS messages on `ss.live.…`, outside the stream.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from './config';

export const EVENTS_SUBJECT_ROOT = 'ss.events';
export const LIVE_SUBJECT_ROOT = 'ss.live';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  close(): Promise<void>;
  /** Told of each failed publish, for the process's error metrics (lib/metrics/nats.ts). */
  onError?: (kind: 'publish') => void;
}

export async function connectBus(config: Config, name = 'smart-steps'): Promise<Bus> {
  const nc = await connect({
    servers: config.nats.servers,
    name,
    // Keep trying through a NATS restart instead of failing the process.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  const jsm = await jetstreamManager(nc);
  await ensureEventStream(jsm, config);
  return {
    nc,
    js: jetstream(nc),
    jsm,
    stream: config.nats.stream,
    close: async () => {
      await nc.drain();
    },
  };
}

/** Creates the events stream, or brings an existing one up to the configured settings. */
export async function ensureEventStream(jsm: JetStreamManager, config: Config): Promise<void> {
  const cfg = {
    subjects: [`${EVENTS_SUBJECT_ROOT}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(config.nats.duplicate_window_seconds * 1000),
  };
  try {
    await jsm.streams.info(config.nats.stream);
    await jsm.streams.update(config.nats.stream, cfg);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      await jsm.streams.add({ name: config.nats.stream, ...cfg });
      return;
    }
    throw err;
  }
}

export function eventSubject(entity: string, id: string, event: string): string {
  return `${EVENTS_SUBJECT_ROOT}.${entity}.${id}.${event}`;
}

/** Publishes a JSON payload to the stream, deduplicated by `msgId` within the duplicate window. */
export async function publishJson(
  bus: Bus,
  subject: string,
  msgId: string,
  payload: unknown,
): Promise<PubAck> {
  try {
    return await bus.js.publish(subject, JSON.stringify(payload), { msgID: msgId });
  } catch (err) {
    bus.onError?.('publish');
    throw err;
  }
}

export async function pingBus(bus: Bus): Promise<void> {
  if (bus.nc.isClosed()) throw new Error('connection closed');
  await bus.nc.flush();
  await bus.jsm.getAccountInfo();
}
