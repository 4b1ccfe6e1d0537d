/**
 * The right to erasure: everything held about a client goes — running sessions are stopped, the
 * Temporal histories of its sessions and analyses are deleted, and its transcripts, notes,
 * analyses, sessions, series and queued webhook payloads are removed from the store. The audit
 * log keeps that it happened (who, when, which id), never what was erased.
 */
import type { Client as TemporalClient } from '@temporalio/client';
import { isGrpcServiceError } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Db } from 'mongodb';
import { COLLECTIONS, type SessionDoc } from '../../lib/store/collections';
import { deletePages } from '../../lib/store/transcript-pages';

/** What reaches beyond the store: workflows and schedules. */
export interface Eraser {
  /** Every workflow execution tagged with the client (ClientId), closed or running. */
  workflowsOf(clientId: string): Promise<string[]>;
  /** Deletes the execution with its history, terminating it first if it runs. */
  deleteWorkflow(workflowId: string): Promise<void>;
  deleteSchedule(scheduleId: string): Promise<void>;
}

export function temporalEraser(temporal: TemporalClient, namespace: string): Eraser {
  const ignoreNotFound = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if (isGrpcServiceError(err) && err.code === GrpcStatus.NOT_FOUND) return;
      if ((err as Error).name === 'WorkflowNotFoundError') return;
      if ((err as Error).name === 'ScheduleNotFoundError') return;
      throw err;
    }
  };
  return {
    async workflowsOf(clientId) {
      const ids = new Set<string>();
      // Ids are ours (s_…, c_…): no quoting issues in the visibility query.
      for await (const wf of temporal.workflow.list({ query: `ClientId = "${clientId}"` })) {
        ids.add(wf.workflowId);
      }
      return [...ids];
    },
    async deleteWorkflow(workflowId) {
      // Deleting the execution removes its history (and the payloads in it) from the server; a
      // running one is terminated by the same call and deleted as it closes. (Terminating first
      // and then deleting leaves the delete waiting on the close's own tasks, with back-off:
      // tens of seconds to minutes on the dev server.)
      await ignoreNotFound(() =>
        temporal.workflowService.deleteWorkflowExecution({
          namespace,
          workflowExecution: { workflowId },
        }),
      );
    },
    async deleteSchedule(scheduleId) {
      await ignoreNotFound(() => temporal.schedule.getHandle(scheduleId).delete());
    },
  };
}

/**
 * Erases what belongs to the client, except the client record itself (the caller deletes it
 * last, so an erasure that fails part-way is finished by asking again).
 */
export async function eraseClientData(
  db: Db,
  eraser: Eraser,
  clientId: string,
  /** Told of each erased session, so caches of it go (see lib/cache/notices.ts). */
  erased: (sessionId: string) => void = () => undefined,
): Promise<{ sessions: number; series: number }> {
  const sessions = await db
    .collection<SessionDoc>(COLLECTIONS.sessions)
    .find({ client_id: clientId }, { projection: { _id: 1 } })
    .toArray();
  const sessionIds = sessions.map((s) => s._id);
  const series = await db
    .collection<{ _id: string }>(COLLECTIONS.series)
    .find({ client_id: clientId }, { projection: { _id: 1 } })
    .toArray();

  // Schedules first, so no new session starts while the rest goes.
  for (const s of series) await eraser.deleteSchedule(`series-${s._id}`);
  // Workflows next, so none writes again after its data is gone. Visibility lags a little, so
  // the sessions the store knows are stopped by id as well.
  const workflowIds = new Set([
    ...sessionIds.map((id) => `session-${id}`),
    ...(await eraser.workflowsOf(clientId)),
  ]);
  for (const id of workflowIds) await eraser.deleteWorkflow(id);

  if (sessionIds.length) {
    const bySession = { session_id: { $in: sessionIds } };
    await db.collection(COLLECTIONS.messages).deleteMany(bySession);
    await deletePages(db, sessionIds);
    await db.collection(COLLECTIONS.notes).deleteMany(bySession);
    await db.collection<SessionDoc>(COLLECTIONS.sessions).deleteMany({ _id: { $in: sessionIds } });
    for (const id of sessionIds) erased(id);
  }
  // Queued and kept webhook deliveries carry the client's messages, notes and analyses.
  const tasks = {
    subject: { $in: [`client.${clientId}`, ...sessionIds.map((id) => `session.${id}`)] },
  };
  await db.collection(COLLECTIONS.webhookTasks).deleteMany(tasks);
  await db.collection(COLLECTIONS.webhookTasksDone).deleteMany(tasks);
  await db.collection(COLLECTIONS.series).deleteMany({ client_id: clientId });
  return { sessions: sessionIds.length, series: series.length };
}
