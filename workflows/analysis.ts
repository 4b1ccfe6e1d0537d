/**
 * On-demand analysis: short workflows the API executes and waits for. They run on the session
 * pool's queue and hand the work to the persona pool, whose engines (the local one, LLMs later)
 * get Temporal's retries there instead of running in an API process.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { AnalysisActivities, ProgressReportActivityRequest } from '../activities/analysis';
import type { ProgressReportResponse, SessionSummaryResponse } from '../lib/schemas/analysis';

/** Failure types the API maps to HTTP statuses. */
export const ANALYSIS_FAILURE = {
  sessionNotFound: 'SessionNotFound',
  unknownPersona: 'UnknownPersona',
} as const;

export interface AnalysisWorkflowOptions {
  /** Task queue of the persona pool (configurable, so one Temporal can host several stacks). */
  persona_task_queue?: string;
}

export interface SessionSummaryInput extends AnalysisWorkflowOptions {
  session_id: string;
}

export type ProgressReportInput = ProgressReportActivityRequest & AnalysisWorkflowOptions;

const analysisActivities = (taskQueue: string | undefined) =>
  proxyActivities<AnalysisActivities>({
    taskQueue: taskQueue ?? 'personas',
    // An LLM summary of a long transcript can take a while; the caller's own timeout caps retries.
    startToCloseTimeout: '90 seconds',
    retry: {
      initialInterval: '500 ms',
      backoffCoefficient: 2,
      maximumInterval: '10 seconds',
      maximumAttempts: 4,
      nonRetryableErrorTypes: Object.values(ANALYSIS_FAILURE),
    },
  });

export async function sessionSummaryWorkflow(
  input: SessionSummaryInput,
): Promise<SessionSummaryResponse> {
  return analysisActivities(input.persona_task_queue).summarizeSession({
    session_id: input.session_id,
  });
}

export async function progressReportWorkflow(
  input: ProgressReportInput,
): Promise<ProgressReportResponse> {
  const { persona_task_queue, ...request } = input;
  return analysisActivities(persona_task_queue).progressReport(request);
}
