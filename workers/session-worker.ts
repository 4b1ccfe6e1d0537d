/**
 * Session pool: runs the session workflows and their bookkeeping (local) activities on the
 * `sessions` task queue. Any number of these processes may run; Temporal spreads the work.
 */
import type { Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { ensureIndexes } from '../lib/store/collections';
import { createSessionActivities } from '../activities';
import { startPool, type RunningWorker, type StartOptions } from './pool';
import { runMain } from './main';

export type { RunningWorker };

export function start(
  config: Config,
  log: Logger = createLogger('worker', config.logging.level),
  opts: StartOptions = {},
): Promise<RunningWorker> {
  return startPool(
    {
      pool: 'sessions',
      taskQueue: config.temporal.task_queues.sessions,
      workflows: true,
      options: {
        maxCachedWorkflows: config.performance.workers.max_cached_workflows,
        maxConcurrentWorkflowTaskExecutions:
          config.performance.workers.max_concurrent_workflow_tasks,
        maxConcurrentLocalActivityExecutions:
          config.performance.workers.max_concurrent_local_activities,
      },
      activities: async (deps) => {
        await ensureIndexes(deps.store.db);
        return createSessionActivities({ ...deps, safety: config.safety });
      },
    },
    config,
    log,
    opts,
  );
}

if (require.main === module) runMain('worker', start);
