import type { Store } from '../lib/mongo';
import type { Bus } from '../lib/bus';
import { pingStore } from '../lib/mongo';
import { pingBus } from '../lib/bus';

export interface DiagnosticsDeps {
  store: Store;
  bus: Bus;
  /** The worker's identity, reported back so a caller sees which process answered. */
  identity: string;
}

export interface ProbeResult {
  token: string;
  worker_identity: string;
  mongo: 'ok';
  nats: 'ok';
}

/**
 * A probe that travels the whole path (client → Temporal → worker → activity → MongoDB and
 * NATS → back), so an operator or a test can tell that a worker is really polling and wired up.
 */
export function createDiagnosticActivities({ store, bus, identity }: DiagnosticsDeps) {
  return {
    async probeDependencies(token: string): Promise<ProbeResult> {
      await pingStore(store);
      await pingBus(bus);
      return { token, worker_identity: identity, mongo: 'ok', nats: 'ok' };
    },
  };
}

export type DiagnosticActivities = ReturnType<typeof createDiagnosticActivities>;
