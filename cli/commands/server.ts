import { loadConfigOrExit } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { onShutdownSignal } from '../../lib/process';
import { start } from '../../api/server';

export async function runServer(args: string[]): Promise<void> {
  const config = loadConfigOrExit({
    argv: args,
    overrides: args.includes('--debug') ? { 'server.debug': true, 'logging.level': 'debug' } : {},
  });
  const log = createLogger('api', config.logging.level);
  const api = await start(config, log);
  onShutdownSignal(log, () => api.stop());
}
