/**
 * Webhook dispatcher pool: takes lifecycle events off the shared durable JetStream consumer and
 * delivers them, signed and retried, to the webhooks subscribed to them (lib/webhooks/dispatcher.ts
 * explains how). Any number of these processes may run side by side.
 */
import * as os from 'node:os';
import type { Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { connectStore, type Store } from '../lib/mongo';
import { connectBus, type Bus } from '../lib/bus';
import { waitForDependency } from '../lib/retry';
import { FieldCrypto } from '../lib/crypto/fields';
import { WebhookDispatcher } from '../lib/webhooks/dispatcher';
import { createWebhookMetrics } from '../lib/metrics';
import { workerMetrics } from './metrics';
import { runMain, type Stoppable } from './main';

export interface RunningDispatcher extends Stoppable {
  identity: string;
  dispatcher: WebhookDispatcher;
  /** Where `GET /metrics` answers, when `metrics.ports.webhooks` is set and was free. */
  metricsUrl?: string;
}

export async function start(
  config: Config,
  log: Logger = createLogger('webhook-dispatcher', config.logging.level),
  opts: { identity?: string } = {},
): Promise<RunningDispatcher> {
  const identity = opts.identity ?? `webhooks-${process.pid}@${os.hostname()}`;
  const waitFor = <T>(what: string, fn: () => Promise<T>) => waitForDependency(log, what, fn);
  const metrics = workerMetrics('webhooks', config, log);
  let store: Store | undefined;
  let bus: Bus | undefined;
  try {
    store = await waitFor('mongodb', () => connectStore(config, identity));
    bus = await waitFor('nats', () => connectBus(config, identity));
    metrics.watch(bus);
    const dispatcher = new WebhookDispatcher({
      db: store.db,
      bus,
      fields: FieldCrypto.fromConfig(config),
      settings: config.webhooks,
      log,
      identity,
      metrics: createWebhookMetrics(metrics.registry),
    });
    await dispatcher.start();
    log.info({ identity, consumer: config.webhooks.consumer }, 'webhook dispatcher running');
    const metricsServer = await metrics.serve();
    const [b, s] = [bus, store];
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await dispatcher.stop();
        await Promise.allSettled([b.close(), s.close(), metricsServer?.close()]);
        log.info('webhook dispatcher stopped');
      })());
    return { identity, dispatcher, metricsUrl: metricsServer?.url, stop };
  } catch (err) {
    await Promise.allSettled([bus?.close(), store?.close()]);
    throw err;
  }
}

if (require.main === module) runMain('webhook-dispatcher', start);
