/**
 * A throw-away stack: Temporal, NATS and FerretDB on free ports with data in a fresh temporary
 * folder. The test harness and the benchmarks use it, so they never touch the dev stack.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { provisionAll, type Binaries } from './binaries';
import { startServices, type RunningServices } from './services';
import { freePorts } from './ports';

export const EPHEMERAL_PREFIX = 'smartsteps-test-';

export interface EphemeralStack {
  dir: string;
  bins: Binaries;
  services: RunningServices;
  /** Config overrides (dotted keys) that point a process at this stack. */
  overrides: Record<string, unknown>;
  /** The same, as SMARTSTEPS_* environment variables for child processes. */
  env: Record<string, string>;
  stop(keepData?: boolean): Promise<void>;
}

export async function startEphemeralStack(opts: {
  binCache: string;
  progress?: (line: string) => void;
}): Promise<EphemeralStack> {
  const bins = await provisionAll({ cacheDir: opts.binCache, progress: opts.progress });
  const dir = mkdtempSync(path.join(os.tmpdir(), EPHEMERAL_PREFIX));
  writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  const [temporal, temporalHttp, temporalMetrics, nats, natsMonitor, mongo] = await freePorts(6);
  const services = await startServices({
    bins,
    dataDir: dir,
    ports: {
      temporal: temporal!,
      temporalHttp: temporalHttp!,
      temporalUi: 0,
      temporalMetrics: temporalMetrics!,
      nats: nats!,
      natsMonitor: natsMonitor!,
      mongo: mongo!,
    },
    logToFiles: true,
  });
  writeFileSync(path.join(dir, 'pids.json'), JSON.stringify(services.processes.map((p) => p.pid)));
  const overrides = {
    'temporal.address': services.temporalAddress,
    'nats.servers': [services.natsUrl],
    'storage.connection.uri': services.mongoUri,
  };
  return {
    dir,
    bins,
    services,
    overrides,
    env: {
      SMARTSTEPS_TEMPORAL__ADDRESS: services.temporalAddress,
      SMARTSTEPS_NATS__SERVERS: services.natsUrl,
      SMARTSTEPS_STORAGE__CONNECTION__URI: services.mongoUri,
    },
    stop: async (keepData = false) => {
      await services.stop();
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}
