/**
 * Persona pool: the persona's replies and session analysis on the `personas` task queue,
 * scaled apart from the session pool (an LLM call is slow; bookkeeping is not).
 */
import type { Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { createAnalysisActivities, createPersonaActivities } from '../activities';
import { loadPersonaDefinitions, PersonaRegistry } from '../personas/registry';
import { PersonaCatalog } from '../personas/catalog';
import { createLocalEngine } from '../personas/engine/local';
import { startPool, type RunningWorker, type StartOptions } from './pool';
import { runMain } from './main';

export function start(
  config: Config,
  log: Logger = createLogger('persona-worker', config.logging.level),
  opts: StartOptions = {},
): Promise<RunningWorker> {
  // Definitions are validated before connecting, so a broken persona file fails fast with its name.
  const files = new PersonaRegistry(loadPersonaDefinitions());
  return startPool(
    {
      pool: 'personas',
      taskQueue: config.temporal.task_queues.personas,
      workflows: false,
      options: {
        maxConcurrentActivityTaskExecutions: config.performance.workers.max_concurrent_activities,
      },
      activities: ({ store, bus }) => {
        const engine = createLocalEngine();
        // Custom personas (added through the API) are read from the store, by session version.
        const personas = new PersonaCatalog(files, store.db);
        return {
          ...createPersonaActivities({ store, bus, personas, engine, safety: config.safety }),
          ...createAnalysisActivities({ store, personas, engine }),
        };
      },
    },
    config,
    log,
    opts,
  );
}

if (require.main === module) runMain('persona-worker', start);
