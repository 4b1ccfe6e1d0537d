import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connectTemporal, pingTemporal, type TemporalHandle } from '../lib/temporal';
import { testConfig } from './helpers/stack';

// A full collection on demand, so what stays reachable is measured, not garbage not yet swept.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const retained = () => {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

describe('Temporal client handle', () => {
  const config = testConfig();
  let temporal: TemporalHandle;

  beforeAll(async () => {
    temporal = await connectTemporal(config);
  });
  afterAll(async () => {
    await temporal?.close();
  });

  jest.setTimeout(60_000);

  it('keeps nothing of a call once it is over (the API makes one or more per request)', async () => {
    const calls = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          temporal.cancellable(() => pingTemporal(temporal, config.temporal.namespace)),
        ),
      );
    // Warm-up: channel, code paths and caches that are there once, whatever the number of calls.
    for (let i = 0; i < 4; i++) await calls(50);
    const before = retained();
    for (let i = 0; i < 40; i++) await calls(50);
    const grown = retained() - before;
    // Each of the 2,000 calls, held, keeps its gRPC call and buffers (about 10 KB): ~20 MB.
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });

  it('still cancels a call in flight when it closes', async () => {
    const other = await connectTemporal(config);
    let polling!: () => void;
    const started = new Promise<void>((resolve) => (polling = resolve));
    // A wait for the result of a workflow no worker runs: a long poll that only a cancel ends.
    const waiting = other.cancellable(async () => {
      const handle = await other.client.workflow.start('neverStarted', {
        taskQueue: `no-worker-${Date.now()}`,
        workflowId: `cancel-probe-${Date.now()}`,
        workflowExecutionTimeout: '1 minute',
      });
      const result = handle.result();
      polling();
      return result;
    });
    const outcome = waiting.then(
      () => 'finished',
      () => 'cancelled',
    );
    await started;
    const closing = Date.now();
    await other.close();
    expect(await outcome).toBe('cancelled');
    // Cancelled, not left to the close's bound (2 s) or the workflow's timeout.
    expect(Date.now() - closing).toBeLessThan(1_500);
  });
});
