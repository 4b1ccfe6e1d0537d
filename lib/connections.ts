import type { Config } from './config';
import type { Logger } from './log';
import { connectStore, pingStore, type Store } from './mongo';
import { connectBus, pingBus, type Bus } from './bus';
import { connectTemporal, pingTemporal, type TemporalHandle } from './temporal';
import { waitForDependency } from './retry';
import { payloadCodecFromConfig } from './crypto/payload-codec';
import type { Probe } from './health';
import type { RpcErrorSink } from './metrics/temporal-client';

/** The three real dependencies every process talks to. */
export interface Connections {
  store: Store;
  bus: Bus;
  temporal: TemporalHandle;
  probes: Record<'temporal' | 'nats' | 'mongo', Probe>;
  close(): Promise<void>;
}

/**
 * Connects to MongoDB, NATS and Temporal, waiting up to `deadlineMs` for each so processes can
 * be started together with their dependencies (compose, `npm start`) without racing them.
 */
export async function connectAll(
  config: Config,
  log: Logger,
  name: string,
  opts: { deadlineMs?: number; onTemporalRpcError?: RpcErrorSink } = {},
): Promise<Connections> {
  const waitFor = <T>(what: string, fn: () => Promise<T>) =>
    waitForDependency(log, what, fn, opts.deadlineMs ?? 30_000);
  // Before any connection: missing keys are a configuration error, not a dependency to wait for.
  const codec = payloadCodecFromConfig(config);

  const store = await waitFor('mongodb', async () => {
    const s = await connectStore(config, name);
    await pingStore(s);
    return s;
  });
  const bus = await waitFor('nats', () => connectBus(config, name));
  const temporal = await waitFor('temporal', async () => {
    const t = await connectTemporal(config, codec, { onRpcError: opts.onTemporalRpcError });
    await pingTemporal(t, config.temporal.namespace);
    return t;
  });

  return {
    store,
    bus,
    temporal,
    probes: {
      temporal: () => pingTemporal(temporal, config.temporal.namespace),
      nats: () => pingBus(bus),
      mongo: () => pingStore(store),
    },
    close: async () => {
      await Promise.allSettled([temporal.close(), bus.close(), store.close()]);
    },
  };
}
