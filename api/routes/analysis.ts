import { route, type AnyRoute } from '../routing/route';
import { actorOf } from '../access';
import type { AnalysisService } from '../analysis/service';
import type { SessionService } from '../sessions/service';
import type { ClientService } from '../clients/service';
import {
  progressReportRequestSchema,
  progressReportResponseSchema,
  sessionSummaryResponseSchema,
} from '../../lib/schemas/analysis';
import { sessionIdParams } from './sessions';
import { clientIdParams } from './clients';

/** Analyses run on the persona worker pool (through Temporal); the edge checks who may ask. */
export function analysisRoutes(
  analysis: AnalysisService,
  sessions: SessionService,
  clients: ClientService,
): AnyRoute[] {
  const tag = 'Analysis';
  return [
    route({
      method: 'post',
      path: '/api/v1/sessions/{id}/analyze/summary',
      operationId: 'summarizeSession',
      summary: 'Summary, key points, mood and focus areas of a session (so far, if still active)',
      tag,
      auth: 'analysis:run',
      audit: { action: 'analysis.session_summary', resource: 'session' },
      params: sessionIdParams,
      errors: [409, 503],
      responses: {
        200: { description: 'The session summary', schema: sessionSummaryResponseSchema },
      },
      handler: async (ctx, { params, principal }) => {
        const session = await sessions.findSession(params.id, actorOf(principal));
        ctx.body = await analysis.summarizeSession(params.id, session.client_id);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/clients/{id}/analyze/progress',
      operationId: 'clientProgressReport',
      summary: 'Progress across a client’s sessions in a period: trends, patterns, recommendations',
      tag,
      auth: 'analysis:run',
      audit: { action: 'analysis.progress_report', resource: 'client' },
      params: clientIdParams,
      body: progressReportRequestSchema,
      errors: [503],
      responses: {
        200: { description: 'The progress report', schema: progressReportResponseSchema },
      },
      handler: async (ctx, { params, body, principal }) => {
        await clients.find(params.id, actorOf(principal));
        ctx.body = await analysis.progressReport(params.id, body);
      },
    }),
  ];
}
