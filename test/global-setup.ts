/**
 * Starts real Temporal, NATS (JetStream) and FerretDB on free ports with a throw-away data
 * folder, builds the workflow bundle once, and leaves connection details in the environment.
 * Never touches the dev stack's ports or `.data/`.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import {
  EPHEMERAL_PREFIX,
  startEphemeralStack,
  type EphemeralStack,
} from '../scripts/stack/ephemeral';
import { HARNESS_ENV, type HarnessState } from './helpers/harness-state';
import { isAlive } from '../scripts/stack/supervisor';

declare global {
  var __smartStepsStack: EphemeralStack | undefined;
}

export default async function globalSetup(): Promise<void> {
  cleanUpAbandonedRuns();
  // Only the binary cache comes from the config; ports and data are the harness's own.
  const { dev_stack } = loadConfig({ argv: [] });
  const log = (line: string) => process.stdout.write(`\n[test-harness] ${line}`);
  const stack = await startEphemeralStack({ binCache: dev_stack.bin_cache, progress: log });
  globalThis.__smartStepsStack = stack;

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
  const workflowBundlePath = path.join(stack.dir, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, code);

  const state: HarnessState = {
    dir: stack.dir,
    bins: stack.bins,
    binCache: dev_stack.bin_cache,
    temporalAddress: stack.services.temporalAddress,
    natsUrl: stack.services.natsUrl,
    mongoUri: stack.services.mongoUri,
    workflowBundlePath,
  };
  process.env[HARNESS_ENV] = JSON.stringify(state);
}

/** A run killed before its teardown leaves servers and a folder behind; clear them now. */
function cleanUpAbandonedRuns(): void {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(EPHEMERAL_PREFIX)) continue;
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
