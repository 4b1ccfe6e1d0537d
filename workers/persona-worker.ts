/**
 * Persona pool: the persona's replies and session analysis on the `personas` task queue,
 * scaled apart from the session pool (an LLM call is slow; bookkeeping is not). Replies go to
 * the LLM provider configured for each persona (`llm`), the local engine standing in when it
 * fails; the pool's metrics are served on `metrics.ports.personas`.
 */
import type { Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { createPersonaMetrics } from '../lib/metrics';
import { createAnalysisActivities, createPersonaActivities } from '../activities';
import { loadPersonaDefinitions, PersonaRegistry } from '../personas/registry';
import { PersonaCatalog } from '../personas/catalog';
import { createLocalEngine } from '../personas/engine/local';
import { createLlmEngine } from '../personas/engine/llm';
import { providerRoute } from '../personas/providers';
import { startPool, type RunningWorker, type StartOptions } from './pool';
import { runMain } from './main';

export type PersonaWorker = RunningWorker;

export async function start(
  config: Config,
  log: Logger = createLogger('persona-worker', config.logging.level),
  opts: StartOptions = {},
): Promise<PersonaWorker> {
  // Definitions and provider settings are checked before connecting, so a broken persona file
  // or a missing API key fails fast with its name.
  const files = new PersonaRegistry(loadPersonaDefinitions());
  const metrics = createPersonaMetrics();
  const engine = createLlmEngine({
    local: createLocalEngine(),
    route: providerRoute(config),
    name: config.llm.provider,
    metrics,
    log,
  });
  return startPool(
    {
      pool: 'personas',
      taskQueue: config.temporal.task_queues.personas,
      workflows: false,
      options: {
        maxConcurrentActivityTaskExecutions: config.performance.workers.max_concurrent_activities,
      },
      registry: metrics.registry,
      activities: ({ store, bus, fields }) => {
        // Custom personas (added through the API) are read from the store, by session version.
        const personas = new PersonaCatalog(files, store.db);
        return {
          ...createPersonaActivities({
            store,
            fields,
            bus,
            personas,
            engine,
            safety: config.safety,
            turnaround: metrics.turnaroundSeconds,
          }),
          ...createAnalysisActivities({ store, fields, personas, engine }),
        };
      },
    },
    config,
    log,
    opts,
  );
}

if (require.main === module) runMain('persona-worker', start);
