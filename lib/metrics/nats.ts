/**
 * Counts a NATS connection's errors. Publishes count their own failures (lib/bus.ts); the rest
 * come from the connection's status stream, which reports them whether or not a call was waiting.
 */
import type { Counter } from 'prom-client';
import type { Bus } from '../bus';

/** Status events that mean something went wrong; `reconnect` and `ping` are the good news. */
const COUNTED: Record<string, string> = {
  disconnect: 'disconnect',
  error: 'error',
  staleConnection: 'stale_connection',
  slowConsumer: 'slow_consumer',
};

export function countNatsErrors(bus: Bus, counter: Counter<'kind'>): void {
  // Every kind starts at 0, so a rate over the first error is not lost to a series appearing.
  for (const kind of ['publish', ...Object.values(COUNTED)]) counter.inc({ kind }, 0);
  bus.onError = (kind) => counter.inc({ kind });
  // Ends by itself when the connection closes.
  void (async () => {
    for await (const status of bus.nc.status()) {
      const kind = COUNTED[status.type];
      if (kind) counter.inc({ kind });
    }
  })().catch(() => undefined);
}
