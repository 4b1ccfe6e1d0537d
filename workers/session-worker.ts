/**
 * Session pool entry point: runs the session workflows and their bookkeeping activities on the
 * `sessions` task queue. Any number of these processes may run; Temporal spreads the work.
 * `start()` returns once the worker polls; `stop()` drains in-flight tasks, then disconnects.
 */
import * as os from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadConfigOrExit, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { connectStore, type Store } from '../lib/mongo';
import { connectBus, type Bus } from '../lib/bus';
import { retryUntil } from '../lib/retry';
import { onShutdownSignal } from '../lib/process';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import { createSessionActivities } from '../activities';

export interface RunningWorker {
  identity: string;
  worker: Worker;
  stop(): Promise<void>;
}

export interface WorkerStartOptions {
  /** A prebuilt workflow bundle (tests build it once); otherwise the worker bundles workflows/. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

export async function start(
  config: Config,
  log: Logger = createLogger('worker', config.logging.level),
  opts: WorkerStartOptions = {},
): Promise<RunningWorker> {
  installTemporalRuntime(log);
  const identity = opts.identity ?? `sessions-${process.pid}@${os.hostname()}`;
  const waitFor = <T>(what: string, fn: () => Promise<T>) =>
    retryUntil(fn, {
      deadlineMs: 30_000,
      onRetry: (err) => log.warn(`waiting for ${what}: ${(err as Error).message}`),
    });

  let store: Store | undefined;
  let bus: Bus | undefined;
  let connection: NativeConnection | undefined;
  try {
    store = await waitFor('mongodb', () => connectStore(config, identity));
    bus = await waitFor('nats', () => connectBus(config, identity));
    connection = await waitFor('temporal', () =>
      NativeConnection.connect({ address: config.temporal.address }),
    );

    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.task_queues.sessions,
      identity,
      ...(opts.workflowBundle
        ? { workflowBundle: opts.workflowBundle }
        : { workflowsPath: require.resolve('../workflows') }),
      activities: createSessionActivities({ store, bus, identity }),
      shutdownGraceTime: '10 seconds',
    });

    const running = worker.run();
    log.info(
      { identity, taskQueue: config.temporal.task_queues.sessions },
      'session worker polling',
    );

    const closeAll = async () => {
      await Promise.allSettled([connection!.close(), bus!.close(), store!.close()]);
    };
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch((err: unknown) => log.error({ err }, 'worker stopped with an error'));
        await closeAll();
        log.info('session worker stopped');
      })());
    // A worker that dies on its own (e.g. a fatal core error) must not leave connections open.
    running.catch((err: unknown) => {
      log.error({ err }, 'worker failed');
      void stop();
    });
    return { identity, worker, stop };
  } catch (err) {
    await Promise.allSettled([connection?.close(), bus?.close(), store?.close()]);
    throw err;
  }
}

if (require.main === module) {
  const config = loadConfigOrExit();
  const log = createLogger('worker', config.logging.level);
  start(config, log).then(
    (w) => onShutdownSignal(log, () => w.stop()),
    (err: unknown) => {
      log.fatal({ err }, `worker failed to start: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
