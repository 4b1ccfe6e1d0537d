import { z } from 'zod';
import { auditEntrySchema, type AuditLog } from '../../lib/audit';
import { paginationSchema, timeBoundInput } from '../../lib/schemas/common';
import { pageQuery, pagination } from '../pagination';
import { route, type AnyRoute } from '../routing/route';

const auditQuery = z.object({
  actor_id: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(100).optional(),
  resource_type: z.string().min(1).max(50).optional(),
  resource_id: z.string().min(1).max(200).optional(),
  // Normalised to the stored form, so a whole-second bound compares as that second's start.
  from: timeBoundInput.optional(),
  to: timeBoundInput.optional(),
  ...pageQuery(50),
});

export function auditRoutes(audit: AuditLog): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/audit',
      operationId: 'listAuditEntries',
      summary: 'Who did what to which resource and when, newest first (administrators)',
      tag: 'Audit',
      auth: 'admin',
      query: auditQuery,
      audit: { action: 'audit.read', resource: 'audit' },
      responses: {
        200: {
          description: 'A page of audit entries',
          schema: z.object({ entries: z.array(auditEntrySchema), pagination: paginationSchema }),
        },
      },
      handler: async (ctx, { query }) => {
        const { items, total } = await audit.list(query);
        ctx.body = { entries: items, pagination: pagination(total, query.page, query.limit) };
      },
    }),
  ];
}
