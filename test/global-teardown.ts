/** Stops the servers the global setup started and removes their data; runs even when tests fail. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__smartStepsStack?.stop(process.env.SMARTSTEPS_KEEP_TEST_DATA === '1');
}
