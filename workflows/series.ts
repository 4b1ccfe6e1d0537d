/**
 * One occurrence of a recurring series. A Temporal Schedule starts this workflow at each
 * occurrence; it creates an ordinary session (workflow `session-<id>`, scheduled for now, so it
 * starts at once and the persona opens) that outlives it.
 */
import { ParentClosePolicy, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import type { SessionSpec } from '../lib/schemas/session';
import { sessionWorkflow, type SessionWorkflowOptions } from './session';

export interface SeriesTemplate {
  series_id: string;
  client_id: string;
  persona_id: string;
  persona_version?: number;
  goals: string[];
  duration_minutes: number;
  created_by: string;
  owner_id?: string;
  metadata: Record<string, unknown>;
  options?: SessionWorkflowOptions;
}

export interface OccurrenceResult {
  session_id: string;
}

export async function seriesOccurrenceWorkflow(
  template: SeriesTemplate,
): Promise<OccurrenceResult> {
  const sessionId = `s_${uuid4().replace(/-/g, '').slice(0, 16)}`;
  const now = new Date().toISOString();
  const spec: SessionSpec = {
    session_id: sessionId,
    client_id: template.client_id,
    persona_id: template.persona_id,
    ...(template.persona_version !== undefined
      ? { persona_version: template.persona_version }
      : {}),
    goals: template.goals,
    duration_minutes: template.duration_minutes,
    scheduled_at: now,
    created_at: now,
    created_by: template.created_by,
    ...(template.owner_id ? { owner_id: template.owner_id } : {}),
    series_id: template.series_id,
    metadata: { ...template.metadata, series_id: template.series_id },
  };
  await startChild(sessionWorkflow, {
    workflowId: `session-${sessionId}`,
    args: [{ spec, ...(template.options ? { options: template.options } : {}) }],
    taskQueue: workflowInfo().taskQueue,
    // The session lives on after this short workflow completes.
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  return { session_id: sessionId };
}
