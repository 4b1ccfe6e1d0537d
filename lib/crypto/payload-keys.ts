/**
 * Which key versions Temporal still needs. Payloads are encrypted under the version active when
 * they were written, and a running workflow replays its whole history: retiring a version that a
 * running session's history was written under would leave that session unable to replay (its
 * workflow tasks fail until the key is back). MongoDB's usage counts cannot see this, so
 * `smart-steps keys retire` asks Temporal too.
 */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import type { KeyFile } from './keyring';

/**
 * Processes pick up a new active version from the key file within seconds, not at once; a run
 * started just after the switch may still have been written under the old one.
 */
const PICKUP_MARGIN_MS = 60_000;

/** Until when `id` may have been in use: when the next version was made, plus the margin. */
export function inUseUntil(kf: KeyFile, id: string, now = new Date()): Date {
  const since = Date.parse(kf.keys[id]?.created_at ?? '');
  const later = Object.entries(kf.keys)
    .filter(([other]) => other !== id)
    .map(([, k]) => Date.parse(k.created_at))
    .filter((t) => Number.isFinite(t) && (!Number.isFinite(since) || t > since));
  // Without dates to go by, every run so far may hold it.
  if (later.length === 0) return now;
  return new Date(Math.min(Math.min(...later) + PICKUP_MARGIN_MS, now.getTime()));
}

/** Running workflows of the session pool started while `id` may have been the active version. */
export async function runningWorkflowsUnder(
  config: Config,
  kf: KeyFile,
  id: string,
): Promise<number> {
  const until = inUseUntil(kf, id).toISOString();
  // Counting needs no payloads decoded: a client without the codec is enough.
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const { count } = await client.workflow.count(
      `ExecutionStatus = "Running" AND TaskQueue = "${config.temporal.task_queues.sessions}" AND StartTime < "${until}"`,
    );
    return count;
  } finally {
    await connection.close();
  }
}
