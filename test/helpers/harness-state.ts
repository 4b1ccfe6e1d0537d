/**
 * What the global setup started, handed to test files through one environment variable
 * (Jest's global setup runs in the parent process; test workers inherit its environment).
 */
import type { Binaries } from '../../scripts/stack/binaries';

export interface HarnessState {
  /** Throw-away folder holding the servers' data and logs. */
  dir: string;
  bins: Binaries;
  binCache: string;
  temporalAddress: string;
  natsUrl: string;
  mongoUri: string;
  /** Workflow bundle built once, so each test worker does not run webpack again. */
  workflowBundlePath: string;
}

export const HARNESS_ENV = 'SMARTSTEPS_TEST_HARNESS';

export function harnessState(): HarnessState {
  const raw = process.env[HARNESS_ENV];
  if (!raw) throw new Error('test harness not started: run tests through jest (npm test)');
  return JSON.parse(raw) as HarnessState;
}
