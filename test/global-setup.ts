/**
 * Starts real Temporal, NATS (JetStream) and FerretDB on free ports with a throw-away data
 * folder, builds the workflow bundle once, and leaves connection details in the environment.
 * Never touches the dev stack's ports or `.data/`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { provisionAll } from '../scripts/stack/binaries';
import { startServices, type RunningServices } from '../scripts/stack/services';
import { freePorts } from '../scripts/stack/ports';
import { HARNESS_ENV, type HarnessState } from './helpers/harness-state';

const TMP_PREFIX = 'smartsteps-test-';

declare global {
  var __smartStepsServices: RunningServices | undefined;
  var __smartStepsDir: string | undefined;
}

export default async function globalSetup(): Promise<void> {
  cleanUpAbandonedRuns();
  // Only the binary cache comes from the config; ports and data are the harness's own.
  const { dev_stack } = loadConfig({ argv: [] });
  const log = (line: string) => process.stdout.write(`\n[test-harness] ${line}`);
  const bins = await provisionAll({ cacheDir: dev_stack.bin_cache, progress: log });

  const dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  globalThis.__smartStepsDir = dir;

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
  globalThis.__smartStepsServices = services;
  writeFileSync(path.join(dir, 'pids.json'), JSON.stringify(services.processes.map((p) => p.pid)));

  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (m) => log(m),
    },
  });
  const workflowBundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, code);

  const state: HarnessState = {
    dir,
    bins,
    binCache: dev_stack.bin_cache,
    temporalAddress: services.temporalAddress,
    natsUrl: services.natsUrl,
    mongoUri: services.mongoUri,
    workflowBundlePath,
  };
  process.env[HARNESS_ENV] = JSON.stringify(state);
}

/** A run killed before its teardown leaves servers and a folder behind; clear them now. */
function cleanUpAbandonedRuns(): void {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      const owner = Number(readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
      if (isAlive(owner)) continue;
      const pids = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as number[];
      for (const pid of pids) {
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    } catch {
      // no record of processes: only the folder is left
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
