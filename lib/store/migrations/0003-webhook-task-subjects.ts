import type { Collection } from 'mongodb';
import { COLLECTIONS, type WebhookTaskDoc } from '../collections';
import type { Migration } from './types';

type Task = Pick<WebhookTaskDoc, '_id' | 'webhook_id' | 'event_id' | 'trigger' | 'order_key'> & {
  subject?: string;
};

const SUBJECT = /^(session|client)\.[A-Za-z0-9_-]+$/;

/**
 * Webhook tasks queued before erasure existed have no `subject` (the session or client the event
 * is about), so `DELETE /clients/{id}` cannot find them and the client's messages and notes would
 * stay in their payloads. An event's task names its subject in its `order_key`
 * (`<webhook>:<entity>.<id>`); a redelivery's is its original's. Pings are about no one.
 */
export const webhookTaskSubjects: Migration = {
  version: 3,
  name: 'webhook-task-subjects',
  description: 'Webhook tasks name the session or client they are about, so erasure finds them',
  async up({ db, progress }) {
    const pending = db.collection<Task>(COLLECTIONS.webhookTasks);
    const done = db.collection<Task>(COLLECTIONS.webhookTasksDone);
    const original = async (task: Task) => {
      const id = `${task.webhook_id}:${task.event_id}`;
      return (await pending.findOne({ _id: id })) ?? (await done.findOne({ _id: id }));
    };
    let updated = 0;
    let unknown = 0;
    // Events before redeliveries, which copy their original's subject.
    for (const trigger of ['event', 'redeliver'] as const) {
      for (const tasks of [pending, done]) {
        const counts = await backfill(tasks, trigger, async (task) =>
          trigger === 'event' ? fromOrderKey(task) : await original(task).then(subjectOf),
        );
        updated += counts.updated;
        unknown += counts.unknown;
        if (counts.updated)
          progress(`${tasks.collectionName}: ${counts.updated} ${trigger} task(s)`);
      }
    }
    return (
      `${updated} webhook task(s) given a subject` + (unknown ? `, ${unknown} not traceable` : '')
    );
  },
};

async function backfill(
  tasks: Collection<Task>,
  trigger: Task['trigger'],
  find: (task: Task) => Promise<string | undefined>,
): Promise<{ updated: number; unknown: number }> {
  let updated = 0;
  let unknown = 0;
  let after: string | undefined;
  for (;;) {
    const batch = await tasks
      .find({
        trigger,
        subject: { $exists: false },
        ...(after === undefined ? {} : { _id: { $gt: after } }),
      })
      .project<Task>({ _id: 1, webhook_id: 1, event_id: 1, trigger: 1, order_key: 1 })
      .sort({ _id: 1 })
      .limit(500)
      .toArray();
    if (batch.length === 0) break;
    for (const task of batch) {
      const subject = await find(task);
      if (!subject) {
        unknown++;
        continue;
      }
      const set = await tasks.updateOne(
        { _id: task._id, subject: { $exists: false } },
        { $set: { subject } },
      );
      updated += set.modifiedCount;
    }
    after = batch[batch.length - 1]!._id;
  }
  return { updated, unknown };
}

function fromOrderKey(task: Task): string | undefined {
  const prefix = `${task.webhook_id}:`;
  if (!task.order_key.startsWith(prefix)) return undefined;
  const subject = task.order_key.slice(prefix.length);
  return SUBJECT.test(subject) ? subject : undefined;
}

function subjectOf(task: Task | null): string | undefined {
  if (!task) return undefined;
  return task.subject ?? (task.trigger === 'event' ? fromOrderKey(task) : undefined);
}
