import { z } from 'zod';
import { route, type AnyRoute } from '../routing/route';
import { pageQuery, pagination } from '../pagination';
import { actorOf } from '../access';
import {
  clientSchema,
  createClientRequestSchema,
  updateClientRequestSchema,
} from '../../lib/schemas/client';
import { paginationSchema } from '../../lib/schemas/common';
import type { ClientService } from '../clients/service';
import { clientExportSchema } from '../clients/export';

export const clientIdParams = z.object({
  id: z
    .string()
    .regex(/^c_[a-z0-9]{4,64}$/, 'must be a client id (c_…)')
    .describe('Client id'),
});
const listQuery = z.object({
  search: z
    .string()
    .trim()
    .min(2, 'must be at least 2 characters')
    .max(100)
    .optional()
    .describe(
      "Matches the start of a first or last name's words, or of the e-mail, ignoring case and accents (at least 2 characters; names are stored encrypted and searched through blind indexes)",
    ),
  ...pageQuery(),
});

const clientViewSchema = clientSchema.omit({ owner_id: true });
const createdClientSchema = clientViewSchema.omit({ updated_at: true });
const clientSummarySchema = clientSchema.pick({
  client_id: true,
  first_name: true,
  last_name: true,
  email: true,
  created_at: true,
});
const clientDetailsSchema = clientViewSchema.extend({
  session_count: z.object({
    total: z.number().int(),
    completed: z.number().int(),
    scheduled: z.number().int(),
  }),
});

export function clientRoutes(service: ClientService): AnyRoute[] {
  const tag = 'Clients';
  const base = '/api/v1/clients';
  const update = (method: 'patch' | 'put') =>
    route({
      method,
      path: `${base}/{id}`,
      operationId: method === 'patch' ? 'updateClient' : 'replaceClientDeprecated',
      summary:
        method === 'patch'
          ? 'Change a client’s fields (null clears an optional one)'
          : 'Same as PATCH; kept for older integrations',
      tag,
      auth: 'clients:write',
      audit: { action: 'client.update', resource: 'client' },
      params: clientIdParams,
      body: updateClientRequestSchema,
      errors: [409],
      ...(method === 'put'
        ? {
            deprecated: {
              warning: 'This endpoint is deprecated; use PATCH /api/v1/clients/{id}',
              sunset: '2027-12-31T00:00:00Z',
            },
          }
        : {}),
      responses: { 200: { description: 'The updated client', schema: clientDetailsSchema } },
      handler: async (ctx, { params, body, principal }) => {
        ctx.body = await service.update(params.id, body, actorOf(principal));
      },
    });

  return [
    route({
      method: 'post',
      path: base,
      operationId: 'createClient',
      summary: 'Create a client',
      tag,
      auth: 'clients:write',
      audit: { action: 'client.create', resource: 'client' },
      body: createClientRequestSchema,
      errors: [409],
      responses: { 201: { description: 'The new client', schema: createdClientSchema } },
      handler: async (ctx, { body, principal }) => {
        const client = await service.create(body, actorOf(principal));
        ctx.status = 201;
        ctx.set('Location', `${base}/${client.client_id}`);
        const { updated_at: _u, ...shown } = client;
        ctx.body = shown;
      },
    }),
    route({
      method: 'get',
      path: base,
      operationId: 'listClients',
      summary: 'List or search clients, newest first',
      tag,
      auth: 'clients:read',
      audit: { action: 'client.list', resource: 'client' },
      query: listQuery,
      responses: {
        200: {
          description: 'A page of clients',
          schema: z.object({ clients: z.array(clientSummarySchema), pagination: paginationSchema }),
        },
      },
      handler: async (ctx, { query, principal }) => {
        const { items, total } = await service.list(
          query.search,
          query.page,
          query.limit,
          actorOf(principal),
        );
        ctx.body = {
          clients: items.map((c) => ({
            client_id: c.client_id,
            first_name: c.first_name,
            last_name: c.last_name,
            ...(c.email ? { email: c.email } : {}),
            created_at: c.created_at,
          })),
          pagination: pagination(total, query.page, query.limit),
        };
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getClient',
      summary: 'A client with session counts',
      tag,
      auth: 'clients:read',
      audit: { action: 'client.read', resource: 'client' },
      params: clientIdParams,
      responses: { 200: { description: 'The client', schema: clientDetailsSchema } },
      handler: async (ctx, { params, principal }) => {
        ctx.body = await service.get(params.id, actorOf(principal));
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}/export`,
      operationId: 'exportClient',
      summary: 'Everything held about a client: record, sessions with transcripts, notes, analyses',
      tag,
      auth: 'clients:read',
      audit: { action: 'client.export', resource: 'client' },
      params: clientIdParams,
      responses: { 200: { description: 'The export', schema: clientExportSchema } },
      handler: async (ctx, { params, principal }) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Content-Disposition', `attachment; filename="${params.id}-export.json"`);
        ctx.body = await service.export(params.id, actorOf(principal));
      },
    }),
    update('patch'),
    update('put'),
    route({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteClient',
      summary: 'Erase a client and everything held about them',
      description:
        "The right to erasure: the client's running sessions are stopped, their Temporal histories deleted, and the client's record, transcripts, notes, analyses, sessions, series and queued webhook deliveries removed. Audited; the audit entry keeps only the client id. Repeating a DELETE that failed part-way finishes it.",
      tag,
      auth: 'clients:write',
      audit: { action: 'client.delete', resource: 'client' },
      params: clientIdParams,
      responses: { 204: { description: 'Erased' } },
      handler: async (ctx, { params, principal }) => {
        await service.delete(params.id, actorOf(principal));
        ctx.status = 204;
      },
    }),
  ];
}
