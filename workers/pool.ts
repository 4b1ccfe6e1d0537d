/**
 * What every worker pool process shares: connect to MongoDB, NATS and Temporal (waiting for
 * them), run one Temporal worker on the pool's task queue, and stop by draining in-flight tasks
 * before closing the connections. Each pool entry point only says what it runs.
 */
import * as os from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import { connectStore, type Store } from '../lib/mongo';
import { connectBus, type Bus } from '../lib/bus';
import { waitForDependency } from '../lib/retry';
import { FieldCrypto } from '../lib/crypto/fields';
import { payloadCodecFromConfig, temporalDataConverter } from '../lib/crypto/payload-codec';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import { workerMetrics } from './metrics';
import { buildWorkflowBundleApart } from './workflow-bundle';

export interface RunningWorker {
  identity: string;
  worker: Worker;
  /** Where `GET /metrics` answers, when the pool's metrics port is set and was free. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export interface PoolDeps {
  store: Store;
  bus: Bus;
  /** Field encryption for what the pool's activities store and read. */
  fields: FieldCrypto;
  identity: string;
}

export interface PoolDefinition {
  pool: 'sessions' | 'personas';
  taskQueue: string;
  /** Run workflows too (from workflows/ or a prebuilt bundle). */
  workflows: boolean;
  activities(deps: PoolDeps): Promise<object> | object;
  /** Extra options, e.g. concurrency limits. */
  options?: Partial<WorkerOptions>;
  /** The pool's own metrics, served with the process's on the pool's metrics port. */
  registry?: Registry;
}

export interface StartOptions {
  /** A prebuilt workflow bundle (tests build it once); otherwise a child process bundles workflows/. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

export async function startPool(
  def: PoolDefinition,
  config: Config,
  log: Logger,
  opts: StartOptions = {},
): Promise<RunningWorker> {
  const metrics = workerMetrics(def.pool, config, log, def.registry);
  const sdkMetrics = await installTemporalRuntime(log, {
    metrics: metrics.served && config.metrics.temporal_sdk,
  });
  const identity = opts.identity ?? `${def.pool}-${process.pid}@${os.hostname()}`;
  const waitFor = <T>(what: string, fn: () => Promise<T>) => waitForDependency(log, what, fn);
  // Missing keys are a configuration error: say so before connecting to anything.
  const fields = FieldCrypto.fromConfig(config);
  // What this worker writes to Temporal's history is encrypted, under the same keyring.
  const dataConverter = temporalDataConverter(payloadCodecFromConfig(config, fields.keyring));
  let store: Store | undefined;
  let bus: Bus | undefined;
  let connection: NativeConnection | undefined;
  try {
    store = await waitFor('mongodb', () => connectStore(config, identity));
    bus = await waitFor('nats', () => connectBus(config, identity));
    metrics.watch(bus);
    connection = await waitFor('temporal', () =>
      NativeConnection.connect({ address: config.temporal.address }),
    );

    const workflowSource = !def.workflows
      ? {}
      : opts.workflowBundle
        ? { workflowBundle: opts.workflowBundle }
        : { workflowBundle: await buildWorkflowBundleApart() };
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: def.taskQueue,
      identity,
      dataConverter,
      ...workflowSource,
      activities: await def.activities({ store, bus, fields, identity }),
      shutdownGraceTime: '10 seconds',
      ...def.options,
    });

    const running = worker.run();
    log.info({ identity, taskQueue: def.taskQueue }, `${def.pool} worker polling`);
    const metricsServer = await metrics.serve(sdkMetrics?.read);

    const [c, b, s] = [connection, bus, store];
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch((err: unknown) => log.error({ err }, 'worker stopped with an error'));
        await Promise.allSettled([c.close(), b.close(), s.close(), metricsServer?.close()]);
        log.info(`${def.pool} worker stopped`);
      })());
    // A worker that dies on its own (a fatal core error) must not leave connections open.
    running.catch((err: unknown) => {
      log.error({ err }, 'worker failed');
      void stop();
    });
    return { identity, worker, metricsUrl: metricsServer?.url, stop };
  } catch (err) {
    await Promise.allSettled([connection?.close(), bus?.close(), store?.close()]);
    throw err;
  }
}
