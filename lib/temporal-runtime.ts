import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './log';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker state, workflow and activity logs) into our JSON
 * logger. The runtime is process-wide and can be installed once, before the first worker.
 */
export function installTemporalRuntime(log: Logger): void {
  if (installed) return;
  installed = true;
  const level: LogLevel = log.isLevelEnabled('debug')
    ? 'DEBUG'
    : log.isLevelEnabled('info')
      ? 'INFO'
      : 'WARN';
  const sdkLog = log.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      sdkLog[PINO_LEVEL[entry.level]]({ ...entry.meta }, entry.message);
    }),
  });
}
