/**
 * The delivery log shared by the dispatcher and the API: every attempt is one
 * `webhook_deliveries` document with an id of its own (`whd_…`), inserted once, never updated.
 */
import type { Db } from 'mongodb';
import { randomToken } from '../ids';
import type { WebhookDelivery } from '../schemas/webhook';
import {
  COLLECTIONS,
  isDuplicateKey,
  type WebhookDeliveryDoc,
  type WebhookTaskDoc,
} from '../store/collections';
import type { AttemptResult } from './deliver';

export const newDeliveryId = () => `whd_${randomToken(16)}`;

/** Inserts the attempt's record; returns what the API shows of it. */
export async function recordAttempt(
  db: Db,
  task: WebhookTaskDoc,
  attempt: number,
  result: AttemptResult,
  nextRetryAt?: number,
): Promise<WebhookDelivery> {
  const delivery: WebhookDelivery = {
    delivery_id: newDeliveryId(),
    webhook_id: task.webhook_id,
    event_id: task.event_id,
    event: task.event,
    trigger: task.trigger,
    attempt,
    success: result.success,
    ...(result.status_code !== undefined ? { status_code: result.status_code } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
    duration_ms: result.duration_ms,
    started_at: result.started_at,
    completed_at: result.completed_at,
    ...(nextRetryAt !== undefined ? { next_retry_at: new Date(nextRetryAt).toISOString() } : {}),
  };
  await db
    .collection<WebhookDeliveryDoc>(COLLECTIONS.webhookDeliveries)
    .insertOne({ _id: delivery.delivery_id, ...delivery, task_id: task._id });
  return delivery;
}

/**
 * Moves a task that is over out of the pending collection: the copy first (idempotent by `_id`),
 * then the delete, so a crash in between leaves it in both places — and the dispatcher skips a
 * pending task that already has a finished copy.
 */
export async function finishTask(db: Db, task: WebhookTaskDoc): Promise<void> {
  try {
    await db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasksDone).insertOne(task);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  await db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasks).deleteOne({ _id: task._id });
}

/** A task by id, pending or finished. */
export async function findTask(db: Db, taskId: string): Promise<WebhookTaskDoc | null> {
  return (
    (await db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasks).findOne({ _id: taskId })) ??
    (await db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasksDone).findOne({ _id: taskId }))
  );
}
