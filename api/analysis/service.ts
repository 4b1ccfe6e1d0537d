/**
 * On-demand analysis for the API edge: each request executes a short workflow on the session
 * pool's queue, which runs the engine on the persona pool, and waits for its answer. Nothing
 * here checks that the session or client exists or who may see it; the caller does that first.
 */
import { WorkflowFailedError, isGrpcServiceError, type Client } from '@temporalio/client';
import { SESSION_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { Config } from '../../lib/config';
import {
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../../lib/errors';
import { randomToken } from '../../lib/ids';
import {
  PROGRESS_DEFAULT_DAYS,
  type ProgressReportRequest,
  type ProgressReportResponse,
  type SessionSummaryResponse,
} from '../../lib/schemas/analysis';
import {
  ANALYSIS_FAILURE,
  progressReportWorkflow,
  sessionSummaryWorkflow,
} from '../../workflows/analysis';

export interface AnalysisServiceOptions {
  /** How long a request waits for its analysis, retries included, before giving up. */
  timeoutMs?: number;
}

/** Long enough for an LLM to read a long transcript and retry once; short enough for an HTTP caller. */
export const ANALYSIS_TIMEOUT_MS = 2 * 60_000;

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The period a progress report covers: both days inclusive, in UTC. Without an end it ends
 * today; without a start it begins PROGRESS_DEFAULT_DAYS before the end.
 * @throws ValidationError when the end is before the start.
 */
export function progressPeriod(
  req: Pick<ProgressReportRequest, 'start_date' | 'end_date'>,
  now: Date = new Date(),
): { start: string; end: string } {
  const end = req.end_date ?? dayOf(now.getTime());
  const start =
    req.start_date ?? dayOf(Date.parse(`${end}T00:00:00Z`) - PROGRESS_DEFAULT_DAYS * DAY_MS);
  if (end < start) {
    throw new ValidationError(`Invalid body: end_date: must not be before start_date (${start})`, {
      field: 'end_date',
      reason: 'must not be before start_date',
    });
  }
  return { start, end };
}

export class AnalysisService {
  private readonly timeoutMs: number;

  constructor(
    private readonly temporal: Client,
    // Reads happen in the activities, on the persona pool; kept for parity with the other services.
    _db: Db,
    private readonly config: Config,
    opts: AnalysisServiceOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? ANALYSIS_TIMEOUT_MS;
  }

  /**
   * The stored analysis of a completed session, or an analysis of the transcript so far.
   * @throws NotFoundError no such session; ConflictError its persona is no longer defined;
   *   ServiceUnavailableError Temporal or the persona pool cannot answer in time.
   */
  async summarizeSession(sessionId: string, clientId: string): Promise<SessionSummaryResponse> {
    return this.run(() =>
      this.temporal.workflow.execute(sessionSummaryWorkflow, {
        workflowId: `analysis-summary-${sessionId}-${randomToken(8)}`,
        // Tagged with the client, so erasing the client finds and deletes this history too.
        typedSearchAttributes: [{ key: SESSION_SEARCH_ATTRIBUTES.clientId, value: clientId }],
        taskQueue: this.config.temporal.task_queues.sessions,
        workflowExecutionTimeout: this.timeoutMs,
        args: [
          {
            session_id: sessionId,
            persona_task_queue: this.config.temporal.task_queues.personas,
          },
        ],
      }),
    );
  }

  /**
   * The client's progress over the requested period (see progressPeriod for the defaults).
   * @throws ValidationError the end is before the start; ServiceUnavailableError Temporal or the
   *   persona pool cannot answer in time.
   */
  async progressReport(
    clientId: string,
    req: Partial<ProgressReportRequest>,
  ): Promise<ProgressReportResponse> {
    const period = progressPeriod(req);
    return this.run(() =>
      this.temporal.workflow.execute(progressReportWorkflow, {
        workflowId: `analysis-progress-${clientId}-${randomToken(8)}`,
        typedSearchAttributes: [{ key: SESSION_SEARCH_ATTRIBUTES.clientId, value: clientId }],
        taskQueue: this.config.temporal.task_queues.sessions,
        workflowExecutionTimeout: this.timeoutMs,
        args: [
          {
            client_id: clientId,
            start_date: period.start,
            end_date: period.end,
            focus_areas: req.focus_areas ?? [],
            persona_task_queue: this.config.temporal.task_queues.personas,
          },
        ],
      }),
    );
  }

  /** Maps Temporal's answers to the API's errors. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const failure = applicationFailureIn(err);
        if (failure?.type === ANALYSIS_FAILURE.sessionNotFound)
          throw new NotFoundError('Session not found');
        if (failure?.type === ANALYSIS_FAILURE.unknownPersona)
          throw new ConflictError("The session's persona is no longer defined");
        // Timed out or out of retries: the persona pool is down or its engine keeps failing.
        throw new ServiceUnavailableError('Analysis is unavailable right now; retry shortly');
      }
      if (isGrpcServiceError(err) || (err instanceof Error && err.name === 'ServiceError')) {
        throw new ServiceUnavailableError('The analysis runtime is unavailable; retry shortly');
      }
      throw err;
    }
  }
}

/** The business failure at the bottom of a workflow failure (workflow ← activity ← application). */
function applicationFailureIn(err: Error): ApplicationFailure | undefined {
  let cause: unknown = err.cause;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type) return cause;
    cause = cause.cause;
  }
  return undefined;
}
