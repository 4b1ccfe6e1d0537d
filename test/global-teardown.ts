import { rmSync } from 'node:fs';

/** Stops the servers the global setup started and removes their data; runs even when tests fail. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__smartStepsServices?.stop();
  if (globalThis.__smartStepsDir && process.env.SMARTSTEPS_KEEP_TEST_DATA !== '1') {
    rmSync(globalThis.__smartStepsDir, { recursive: true, force: true });
  }
}
