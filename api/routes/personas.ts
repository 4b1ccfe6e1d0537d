import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../lib/errors';
import type { PersonaCatalog } from '../../personas/catalog';
import {
  personaDetailsSchema,
  personaSchema,
  personaSummarySchema,
  toPersonaDetails,
  toPersonaSummary,
  type Persona,
} from '../../personas/schema';
import { route, type AnyRoute } from '../routing/route';
import { pageQuery, pagination } from '../pagination';
import { paginationSchema } from '../../lib/schemas/common';

/**
 * Paged like every list (the spec: all list endpoints take `page` and `limit`), though a
 * catalogue is small: by default one page holds all of any realistic one.
 */
const listQuery = z.object({ ...pageQuery(100) });

const personaIdParams = z.object({
  id: z
    .string()
    .regex(/^[a-z][a-z0-9_]{1,63}$/, 'must be a persona id')
    .describe('Persona id, e.g. dr_morgan_hayes'),
});

/** A custom persona's definition: the server sets `version` (1, then +1 on every PUT). */
const createPersonaSchema = personaSchema.omit({ version: true });
/** The same definition; `persona_id` may be left out, and if given must match the path. */
const replacePersonaSchema = createPersonaSchema.extend({
  persona_id: personaSchema.shape.persona_id.optional(),
});
const storedPersonaSchema = personaDetailsSchema.extend({
  version: z.number().int().describe('Version written; sessions keep the one they started with'),
  opening_lines: personaSchema.shape.opening_lines,
});

const shown = (persona: Persona) => ({
  ...toPersonaDetails(persona),
  version: persona.version,
  ...(persona.opening_lines ? { opening_lines: persona.opening_lines } : {}),
});

export function personaRoutes(personas: PersonaCatalog): AnyRoute[] {
  const tag = 'Personas';
  const base = '/api/v1/personas';
  return [
    route({
      method: 'get',
      path: base,
      operationId: 'listPersonas',
      summary: 'The personas sessions can be held with (built-in and custom)',
      tag,
      auth: 'personas:read',
      query: listQuery,
      responses: {
        200: {
          description: 'A page of personas, by id',
          schema: z.object({
            personas: z.array(personaSummarySchema),
            pagination: paginationSchema,
          }),
        },
      },
      handler: async (ctx, { query }) => {
        const all = await personas.list();
        const start = (query.page - 1) * query.limit;
        ctx.body = {
          personas: all.slice(start, start + query.limit).map(toPersonaSummary),
          pagination: pagination(all.length, query.page, query.limit),
        };
      },
    }),
    route({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getPersona',
      summary: 'A persona’s background, approach, techniques and style (current version)',
      tag,
      auth: 'personas:read',
      params: personaIdParams,
      responses: { 200: { description: 'The persona', schema: personaDetailsSchema } },
      handler: async (ctx, { params }) => {
        const persona = await personas.get(params.id);
        if (!persona) throw new NotFoundError(`Persona ${params.id} not found`);
        ctx.body = toPersonaDetails(persona);
      },
    }),
    route({
      method: 'post',
      path: base,
      operationId: 'createPersona',
      summary: 'Add a custom persona (version 1); administrators only',
      tag,
      auth: 'admin',
      audit: { action: 'persona.create', resource: 'persona' },
      body: createPersonaSchema,
      errors: [409],
      responses: { 201: { description: 'The new persona', schema: storedPersonaSchema } },
      handler: async (ctx, { body, principal }) => {
        const persona = await personas.create(body, principal.name);
        ctx.status = 201;
        ctx.set('Location', `${base}/${persona.persona_id}`);
        ctx.body = shown(persona);
      },
    }),
    route({
      method: 'put',
      path: `${base}/{id}`,
      operationId: 'replacePersona',
      summary:
        'Replace a custom persona’s definition as a new version (sessions already started keep ' +
        'theirs); built-in personas are read-only (409); administrators only',
      tag,
      auth: 'admin',
      audit: { action: 'persona.update', resource: 'persona' },
      params: personaIdParams,
      body: replacePersonaSchema,
      errors: [409],
      responses: { 200: { description: 'The new version', schema: storedPersonaSchema } },
      handler: async (ctx, { params, body, principal }) => {
        if (body.persona_id !== undefined && body.persona_id !== params.id) {
          throw new ValidationError('Invalid body: persona_id: must match the path', {
            field: 'persona_id',
            reason: 'must match the path',
          });
        }
        const persona = await personas.update(
          params.id,
          { ...body, persona_id: params.id },
          principal.name,
        );
        ctx.body = shown(persona);
      },
    }),
  ];
}
