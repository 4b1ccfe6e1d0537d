import { z } from 'zod';
import { NotFoundError } from '../../lib/errors';
import type { PersonaRegistry } from '../../personas/registry';
import {
  personaDetailsSchema,
  personaSummarySchema,
  toPersonaDetails,
  toPersonaSummary,
} from '../../personas/schema';
import { route, type AnyRoute } from '../routing/route';

const personaIdParams = z.object({
  id: z
    .string()
    .regex(/^[a-z][a-z0-9_]{1,63}$/, 'must be a persona id')
    .describe('Persona id, e.g. dr_morgan_hayes'),
});

export function personaRoutes(personas: PersonaRegistry): AnyRoute[] {
  const tag = 'Personas';
  return [
    route({
      method: 'get',
      path: '/api/v1/personas',
      operationId: 'listPersonas',
      summary: 'The personas sessions can be held with',
      tag,
      auth: 'personas:read',
      responses: {
        200: {
          description: 'Every persona',
          schema: z.object({ personas: z.array(personaSummarySchema) }),
        },
      },
      handler: (ctx) => {
        ctx.body = { personas: personas.list().map(toPersonaSummary) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/personas/{id}',
      operationId: 'getPersona',
      summary: 'A persona’s background, approach, techniques and style',
      tag,
      auth: 'personas:read',
      params: personaIdParams,
      responses: { 200: { description: 'The persona', schema: personaDetailsSchema } },
      handler: (ctx, { params }) => {
        const persona = personas.get(params.id);
        if (!persona) throw new NotFoundError(`Persona ${params.id} not found`);
        ctx.body = toPersonaDetails(persona);
      },
    }),
  ];
}
