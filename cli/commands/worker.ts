import { parseArgs } from 'node:util';
import { loadConfigOrExit, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/log';
import type { Stoppable } from '../../workers/main';
import { onShutdownSignal } from '../../lib/process';
import { UsageError } from '../index';

interface WorkerModule {
  start: (config: Config, log: Logger) => Promise<Stoppable>;
}

const POOLS: Record<string, () => WorkerModule> = {
  sessions: () => require('../../workers/session-worker') as WorkerModule,
  personas: () => require('../../workers/persona-worker') as WorkerModule,
  webhooks: () => require('../../workers/webhook-dispatcher') as WorkerModule,
};

export async function runWorker(args: string[]): Promise<void> {
  let values: { pool?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { pool: { type: 'string' }, config: { type: 'string' } },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const pool = values.pool;
  if (!pool || !POOLS[pool]) {
    throw new UsageError(`--pool must be one of: ${Object.keys(POOLS).join(', ')}`);
  }
  const config = loadConfigOrExit({ argv: args });
  const log = createLogger(`worker-${pool}`, config.logging.level);
  const { start } = POOLS[pool]();
  const worker = await start(config, log);
  onShutdownSignal(log, () => worker.stop());
}
