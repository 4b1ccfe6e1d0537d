import { loadConfigOrExit, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { onShutdownSignal } from '../lib/process';

/** What an entry point's `start()` hands back: something that stops gracefully. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Runs a worker entry point as a process: config, logger, start, and stop on SIGINT/SIGTERM. */
export function runMain(
  name: string,
  start: (config: Config, log: Logger) => Promise<Stoppable>,
): void {
  const config = loadConfigOrExit();
  const log = createLogger(name, config.logging.level);
  start(config, log).then(
    (w) => onShutdownSignal(log, () => w.stop()),
    (err: unknown) => {
      log.fatal({ err }, `${name} failed to start: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
